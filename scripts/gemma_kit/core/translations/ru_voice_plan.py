"""Russian: what transcription of voice messages will cost (audio/transcription_plan.py); the memory plan's
shared words (verdicts, part names) are ru_training's."""

MESSAGES = {
    "in RAM, {size:.1f} GB": "в оперативной памяти, {size:.1f} ГБ",
    "Voice transcription with {model}: ~{need:.1f} GB of GPU memory on an NVIDIA GPU (per-layer table "
    "{where}); without a GPU it runs on the CPU, slowly.":
        "Расшифровка голосовых сообщений моделью {model}: ~{need:.1f} ГБ видеопамяти на видеокарте NVIDIA "
        "(послойная таблица {where}); без видеокарты она идёт на процессоре, медленно.",
    "Voice transcription with {model}: ~{need:.1f} GB beyond the CUDA context (per-layer table {where}); "
    "{free:.1f} GB of the {total:.1f} GB on {gpu} are free: {verdict}":
        "Расшифровка голосовых сообщений моделью {model}: ~{need:.1f} ГБ сверх контекста CUDA (послойная таблица "
        "{where}); на {gpu} свободно {free:.1f} ГБ из {total:.1f} ГБ: {verdict}",
    "{n} s": "{n} с",
    "{n} min": "{n} мин",
    "{n:.1f} h": "{n:.1f} ч",
    "this computer's CPU": "процессоре этого компьютера",
    "about {time} on {machine} (the pace measured here last time)":
        "около {time} на {machine} (по скорости, измеренной здесь в прошлый раз)",
    "roughly {low} to {high} on {machine} (a guess until it has run once here)":
        "примерно от {low} до {high} на {machine} (прикидка, пока расшифровка ни разу здесь не запускалась)",
    "use the E2B model (model = \"E2B\") or a smaller --batch-size (e.g. 1)":
        "возьмите модель E2B (model = \"E2B\") или меньший --batch-size (например, 1)",
    "Transcribing with {model} does not fit into the GPU's free memory.":
        "Расшифровка моделью {model} не помещается в свободную видеопамять.",
    "{what}, then run again; or set transcribe_voice = \"no\" to leave voice messages out.":
        "{what} и запустите снова; или укажите transcribe_voice = \"no\", чтобы не использовать голосовые сообщения.",
}
