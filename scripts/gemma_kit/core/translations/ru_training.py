"""Russian: the training part (finetune, its plan and memory estimate, resume, summary; report, doctor, TensorBoard).

Counts are placed where Russian needs no agreement with a following noun ("проходов: 3"), or go through tr_n.
"""

MESSAGES = {
    # ---- finetune: start, inputs, device
    "finetune: training a LoRA adapter (QLoRA) on Gemma 3n. Settings:":
        "finetune: дообучение Gemma 3n — обучаем LoRA-адаптер (QLoRA). Настройки:",
    "Nothing was loaded or written (--plan).": "Ничего не загружено и не записано (--plan).",
    "{path} does not exist.": "Файл {path} не найден.",
    "Run prepare_dataset.bat first: it turns your chat exports into the training files.":
        "Сначала запустите prepare_dataset.bat: он сделает из выгрузок чатов файлы для обучения.",
    "The base model folder {folder} does not exist.": "Папки с исходной моделью {folder} нет.",
    "Run download_model.bat first, or point to your copy with --base or model_path in settings.toml.":
        "Сначала запустите download_model.bat или укажите свою копию модели через --base или model_path "
        "в settings.toml.",
    "Continuing the run '{run_name}' from {checkpoint}.":
        "Продолжаем обучение '{run_name}' с контрольной точки {checkpoint}.",
    "  changed since: {change} (the new value is used)":
        "  с тех пор изменилось: {change} (берётся новое значение)",
    "Starting over: deleted {n} old checkpoint(s) in {folder}.": (
        "Начинаем заново: удалена {n} старая контрольная точка в {folder}.",
        "Начинаем заново: удалены {n} старые контрольные точки в {folder}.",
        "Начинаем заново: удалено {n} старых контрольных точек в {folder}."),
    "Device: {device}. Precision: 4-bit NF4 weights, {dtype} compute; why: {why}.":
        "Устройство: {device}. Точность: веса в 4-битном формате NF4, вычисления в {dtype}; почему: {why}.",
    "no CUDA GPU found: training runs on the CPU. That is fine for the demo's tiny model and far too slow for the "
    "real Gemma 3n (days). Install the CUDA build of PyTorch on a machine with an NVIDIA GPU.":
        "видеокарта с CUDA не найдена: обучение пойдёт на процессоре. Для крошечной демо-модели это нормально, "
        "а настоящая Gemma 3n будет учиться днями. Установите сборку PyTorch с CUDA на компьютере с видеокартой "
        "NVIDIA.",
    "{folder} has no chat template (tokenizer_config.json / chat_template.jinja).":
        "В {folder} нет шаблона чата (tokenizer_config.json / chat_template.jinja).",
    "Download the instruction-tuned model (gemma-3n-E2B-it or -E4B-it) with download_model.bat.":
        "Скачайте через download_model.bat версию модели для диалогов (gemma-3n-E2B-it или -E4B-it).",
    # ---- finetune: data
    "Training examples": "Примеры для обучения",
    "Evaluation examples": "Проверочные примеры",
    "{label}: {count:,} ({tokens:,} tokens; {trained:,} of them in the replies the loss covers, each reply once)":
        "{label}: {count:,} (токенов: {tokens:,}; из них {trained:,} — в ответах, на которых модель учится, "
        "каждый ответ один раз)",
    "; {count:,} lost their oldest turns to fit {limit} tokens":
        "; у {count:,} убраны самые старые реплики, чтобы уложиться в {limit} токенов",
    "; {count:,} skipped as longer than {limit} tokens even alone (lines {lines})":
        "; пропущено (даже без истории длиннее {limit} токенов): {count:,} (строки {lines})",
    "Every example in {path} is longer than max_seq_length = {limit} tokens.":
        "Все примеры в {path} длиннее max_seq_length = {limit} токенов.",
    "Raise max_seq_length in settings.toml (more memory), or prepare the dataset with shorter dialogs "
    "(window_size / max_message_length).":
        "Увеличьте max_seq_length в settings.toml (понадобится больше памяти) или подготовьте набор данных "
        "с короткими диалогами (window_size / max_message_length).",
    "Each evaluation reads {used} of the {count:,} evaluation examples, spread evenly over the file (all of them "
    "would take longer than training).":
        "Каждая проверка берёт {used} из {count:,} проверочных примеров, равномерно по всему файлу (все сразу "
        "проверялись бы дольше, чем идёт обучение).",
    "Preparing train examples": "Подготовка примеров для обучения",
    "Preparing eval examples": "Подготовка проверочных примеров",
    "ex": "пример",
    # ---- finetune: model, training, the end
    "Loading {name} (text model only, 4-bit) ...": "Загружаем {name} (только текстовая часть, 4 бита) ...",
    "loading {name}": "загрузка {name}",
    "use the smaller model (model = \"E2B\" in settings.toml, then download_model.bat)":
        "возьмите модель поменьше (model = \"E2B\" в settings.toml, затем download_model.bat)",
    "Since the last training run in {folder} its plan changed: {changes}.":
        "С прошлого запуска обучения в {folder} изменился план обучения: {changes}.",
    "Run finetune_gemma.bat --resume to continue from {checkpoint} with the new plan, or --restart to start over "
    "(the old checkpoints are deleted).":
        "Запустите finetune_gemma.bat --resume, чтобы продолжить с {checkpoint} по новому плану, или --restart, "
        "чтобы начать заново (старые контрольные точки будут удалены).",
    "TensorBoard: {folder} (check_tensorboard_runs.bat shows it). Ctrl+C saves a checkpoint and stops.":
        "TensorBoard: {folder} (его покажет check_tensorboard_runs.bat). Ctrl+C сохранит контрольную точку "
        "и остановит обучение.",
    "training": "обучение",
    "use a lighter setup: {setups}": "выберите настройки полегче: {setups}",
    " (at step {step}).": " (на шаге {step}).",
    " finetune_gemma.bat --resume continues from {checkpoint}.":
        " finetune_gemma.bat --resume продолжит с {checkpoint}.",
    "Stopped by Ctrl+C at step {step} of {total}; saved {checkpoint}.":
        "Остановлено по Ctrl+C на шаге {step} из {total}; сохранено: {checkpoint}.",
    "Run finetune_gemma.bat again to continue from there.":
        "Запустите finetune_gemma.bat ещё раз, чтобы продолжить с этого места.",
    "Wrote the LoRA adapter to {folder} and the summary to {summary}.":
        "LoRA-адаптер записан в {folder}, итоги — в {summary}.",
    "This training run already finished (latest checkpoint: {checkpoint}).":
        "Это обучение уже закончено (последняя контрольная точка: {checkpoint}).",
    "The adapter is in {folder}.": "Адаптер лежит в {folder}.",
    "{folder} is missing; the latest checkpoint holds the same adapter: merge it with gemma-kit merge-lora "
    "--adapter \"{checkpoint}\".":
        "Папки {folder} нет, но в последней контрольной точке тот же адаптер: объедините его с моделью командой "
        "gemma-kit merge-lora --adapter \"{checkpoint}\".",
    "To train again from the start, run finetune_gemma.bat --restart; to train further, raise max_steps or "
    "num_epochs and run it with --resume.":
        "Чтобы обучить заново, запустите finetune_gemma.bat --restart; чтобы обучать дальше, увеличьте max_steps "
        "или num_epochs и запустите с --resume.",
    # ---- memory check (training/memory_check.py)
    "{problem} Starting anyway (--ignore-memory-check).": "{problem} Всё равно запускаем (--ignore-memory-check).",
    " To try anyway: finetune_gemma.bat --ignore-memory-check.":
        " Попробовать всё равно: finetune_gemma.bat --ignore-memory-check.",
    "Training needs about {need:.1f} GB of GPU memory, but only {free:.1f} GB of the {total:.1f} GB on {name} are "
    "free: other programs are using the rest.":
        "Обучению нужно около {need:.1f} ГБ видеопамяти, а на {name} свободно только {free:.1f} ГБ из "
        "{total:.1f} ГБ: остальное занято другими программами.",
    "{close} and run finetune_gemma.bat again.": "{close} и запустите finetune_gemma.bat ещё раз.",
    "Training needs about {need:.1f} GB of GPU memory, more than {name} has ({total:.1f} GB, {free:.1f} GB free).":
        "Обучению нужно около {need:.1f} ГБ видеопамяти — больше, чем есть у {name} ({total:.1f} ГБ, свободно "
        "{free:.1f} ГБ).",
    "Use a lighter setup in settings.toml or on the command line: {setups}.":
        "Выберите настройки полегче в settings.toml или в командной строке: {setups}.",
    # ---- memory plan (training/memory_plan.py)
    "Close programs that use the GPU (games, video, LM Studio or Ollama with a model loaded)":
        "Закройте программы, которые занимают видеокарту (игры, видео, LM Studio или Ollama с загруженной моделью)",
    "4-bit projections": "4-битные проекции",
    "altup/laurel/per-layer": "altup/laurel/послойные",
    "embeddings + tied head": "эмбеддинги + общий выходной слой",
    "per-layer table": "послойная таблица",
    "LoRA + optimizer": "LoRA + оптимизатор",
    "activations": "активации",
    "loss (logits)": "loss (логиты)",
    "allocator slack (10%)": "запас на фрагментацию (10%)",
    "CUDA context": "контекст CUDA",
    "total": "всего",
    "audio encoder": "аудиокодировщик",
    "generation working memory": "рабочая память генерации",
    "GB": "ГБ",
    "Estimated GPU memory for {label}:": "Оценка видеопамяти для {label}:",
    "(in CPU RAM: {size:.2f} GB of RAM instead)": "(в оперативной памяти: {size:.2f} ГБ вместо видеопамяти)",
    "a smaller max_seq_length (e.g. --set max_seq_length=512)":
        "меньший max_seq_length (например, --set max_seq_length=512)",
    "{model}, preset {preset} (LoRA rank {rank}, {length} tokens x batch {batch})":
        "{model}, пресет {preset} (ранг LoRA {rank}, max_seq_length {length} x пакет {batch})",
    "on the GPU": "в видеопамяти",
    "in CPU RAM": "в оперативной памяти",
    "in RAM, looked up as it would be beside a GPU": "в оперативной памяти (как и при обучении на видеокарте)",
    "computed {chunk} tokens at a time, assistant tokens only":
        "считается по {chunk} токенов за раз, только по токенам ответов",
    "over all logits at once (chunked_loss = false)": "по всем логитам сразу (chunked_loss = false)",
    "per-layer table: {where} (per_layer_table_on_gpu = {setting}); loss: {loss}.":
        "послойная таблица: {where} (per_layer_table_on_gpu = {setting}); loss: {loss}.",
    "(no GPU here: these figures are what an NVIDIA GPU with bfloat16 would need; on this computer the run uses "
    "ordinary RAM and nothing is refused)":
        "(видеокарты здесь нет: столько понадобилось бы видеокарте NVIDIA с bfloat16; на этом компьютере "
        "обучение использует обычную оперативную память, и запуск не блокируется)",
    "fits.": "помещается.",
    "tight (within the estimate's error): it will try.": "впритык (в пределах погрешности оценки): попробуем.",
    "does NOT fit while other programs use the GPU.": "НЕ помещается, пока видеокарту занимают другие программы.",
    "does NOT fit on this GPU.": "НЕ помещается в память этой видеокарты.",
    "{model}, {preset}: ~{need:.1f} GB beyond the CUDA context; {free:.1f} GB of the {total:.1f} GB on {gpu} are "
    "free: {verdict}":
        "{model}, {preset}: ~{need:.1f} ГБ сверх контекста CUDA; на {gpu} свободно {free:.1f} ГБ из "
        "{total:.1f} ГБ: {verdict}",
    "To fit: {setups}.": "Чтобы поместилось: {setups}.",
    "If the steps are very slow, the GPU is borrowing ordinary RAM: use one of these.":
        "Если шаги идут очень медленно, видеокарте не хватает своей памяти и она использует оперативную: выберите что-то из этого.",
    # ---- schedule (training/schedule.py)
    "max_steps = {total} decides the length ({passes:.1f} passes over the data).":
        "Длину задаёт max_steps = {total} (проходов по данным: {passes:.1f}).",
    "Small dataset: {updates} updates would barely change the model, so it makes {raised} passes instead of "
    "{epochs} (the most for '{preset}'; set num_epochs to choose yourself).":
        "Набор данных небольшой: шагов обучения было бы всего {updates}, и модель почти не изменилась бы, поэтому "
        "проходов по данным будет {raised}, а не {epochs} (это максимум для пресета '{preset}'; чтобы выбрать самостоятельно, задайте num_epochs).",
    "Large dataset: the run stops after {cap:,} updates instead of {total:,} ({seen:,} examples seen, about "
    "{passes:.2f} passes) so it ends in hours, not days; set max_steps to train longer.":
        "Набор данных большой: обучение остановится после {cap:,} шагов вместо {total:,} (модель увидит {seen:,} "
        "примеров, около {passes:.2f} прохода), чтобы уложиться в часы, а не дни; чтобы обучать дольше, задайте "
        "max_steps.",
    "Training plan ({preset} preset): {examples:,} training examples, {tokens:,} tokens, {replies:,} of them in the "
    "replies the model learns (each reply once).":
        "План обучения (пресет {preset}): примеров для обучения — {examples:,}, токенов — {tokens:,}, из них "
        "{replies:,} — в ответах, на которых модель учится (каждый ответ один раз).",
    "{batch} examples per update ({size} x {accumulation} accumulated), ":
        "примеров на шаг обучения: {batch} ({size} x {accumulation} с накоплением), ",
    "{n} pass over the data": ("{n} проход по данным", "{n} прохода по данным", "{n} проходов по данным"),
    "{n} passes over the data": ("{n} проход по данным", "{n} прохода по данным", "{n} проходов по данным"),
    ": {updates:,} updates; learning rate {rate:g}, warming up over the first {warmup} updates.":
        ": шагов обучения — {updates:,}; скорость обучения {rate:g}, разогрев на первых шагах: {warmup}.",
    "Evaluation and a checkpoint every {every} updates: {evaluations} evaluations of {count:,} held-out examples. "
    "The checkpoint with the lowest eval loss becomes the adapter.":
        "Шагов обучения между проверками (каждая с контрольной точкой): {every}; проверок — {evaluations}, проверочных "
        "примеров — {count:,}. Адаптером станет контрольная точка с наименьшим loss на проверочных примерах "
        "(чем меньше, тем лучше).",
    "Time: about {seconds:.1f} s per update ({source}), about {duration} in all, evaluations included.":
        "Время: около {seconds:.1f} с на шаг обучения ({source}), всего около {duration} вместе с проверками.",
    "Time: the progress bar shows it after the first updates (no earlier run on this machine to measure from).":
        "Время: индикатор выполнения покажет его после первых шагов (на этом компьютере обучение ещё не "
        "запускалось, измерять не по чему).",
    "{minutes} min": "{minutes} мин",
    "{hours} h {minutes:02d} min": "{hours} ч {minutes:02d} мин",
    # ---- collate: the training files
    "it has no \"messages\" list": "в ней нет списка \"messages\"",
    "\"messages\" is empty": "список \"messages\" пуст",
    "message {number} has no role \"system\", \"user\" or \"assistant\"":
        "у сообщения {number} нет роли \"system\", \"user\" или \"assistant\"",
    "message {number} has no text \"content\"": "у сообщения {number} нет текста \"content\"",
    "the last message is not an assistant reply, so there is nothing to learn from it":
        "последнее сообщение — не ответ ассистента, так что учиться здесь не на чем",
    "Run prepare_dataset.bat first: it turns your chat exports into this file.":
        "Сначала запустите prepare_dataset.bat: он сделает этот файл из выгрузок чатов.",
    "{path}, line {line}: not valid JSON ({why}, column {column}).":
        "{path}, строка {line}: это не JSON ({why}, столбец {column}).",
    "Run prepare_dataset.bat again, or fix or delete that line.":
        "Запустите prepare_dataset.bat ещё раз или исправьте либо удалите эту строку.",
    "{path}, line {line}: {problem}.": "{path}, строка {line}: {problem}.",
    "Each line must be {{\"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}, {{\"role\": \"assistant\", "
    "\"content\": \"...\"}}]}}. Run prepare_dataset.bat again, or fix or delete that line.":
        "Каждая строка должна выглядеть так: {{\"messages\": [{{\"role\": \"user\", \"content\": \"...\"}}, "
        "{{\"role\": \"assistant\", \"content\": \"...\"}}]}}. Запустите prepare_dataset.bat ещё раз или исправьте "
        "либо удалите эту строку.",
    "{path} has no examples.": "В {path} нет ни одного примера.",
    "Put chat exports into dataset/ and run prepare_dataset.bat again.":
        "Положите выгрузки чатов в папку dataset/ и запустите prepare_dataset.bat ещё раз.",
    "{path}, line {line}: the chat template refuses this conversation ({why}).":
        "{path}, строка {line}: шаблон чата не принимает этот диалог ({why}).",
    "Turns must alternate user / assistant (a system message may come first). Run prepare_dataset.bat again, or "
    "fix or delete that line.":
        "Реплики должны чередоваться: user / assistant (первым может идти сообщение system). Запустите "
        "prepare_dataset.bat ещё раз или исправьте либо удалите эту строку.",
    # ---- callbacks: during training
    "could not delete the old checkpoint {path} ({problem}); another program (Explorer, an antivirus) may be using "
    "it. Training goes on; the next save tries again, or delete it yourself later.":
        "не удалось удалить старую контрольную точку {path} ({problem}); возможно, её занимает другая программа "
        "(Проводник, антивирус). Обучение продолжается; при следующем сохранении попробуем снова, или удалите её "
        "сами позже.",
    "these old checkpoints could not be deleted and take disk space; delete them when no program uses them: "
    "{folders}":
        "эти старые контрольные точки не удалось удалить, и они занимают место на диске; удалите их, когда ими "
        "не будет пользоваться ни одна программа: {folders}",
    "step {step}: the loss or the gradients were not finite (NaN or infinity); this update was skipped ({in_a_row} "
    "in a row, {in_run} in this run).":
        "шаг {step}: в loss или градиентах появились NaN или бесконечность; этот шаг обучения пропущен "
        "(подряд: {in_a_row}, всего за обучение: {in_run}).",
    "Reply:": "Ответ:",
    "Ctrl+C: finishing this step, then saving a checkpoint. Press Ctrl+C again to stop at once (without saving).":
        "Ctrl+C: доделываем этот шаг и сохраняем контрольную точку. Нажмите Ctrl+C ещё раз, чтобы остановить сразу "
        "(без сохранения).",
    "The checkpoint to continue from is at step {step}, and this run has {total} steps in all: there is nothing "
    "left to train.":
        "Контрольная точка, с которой нужно продолжить, — на шаге {step}, а всего в этом обучении шагов: {total}. "
        "Обучать больше нечего.",
    "To train a new adapter on the new data or settings, run finetune_gemma.bat --restart. To train the finished "
    "adapter longer, raise num_epochs (or max_steps) and use --resume.":
        "Чтобы обучить новый адаптер на новых данных или настройках, запустите finetune_gemma.bat --restart. "
        "Чтобы дообучить готовый адаптер дольше, увеличьте num_epochs (или max_steps) и запустите с --resume.",
    "The checkpoint is at the run's last step ({step}): nothing left to train; writing the adapter.":
        "Контрольная точка — на последнем шаге обучения ({step}): обучать больше нечего, записываем адаптер.",
    "Training": "Обучение",
    "step": "шаг",
    # ---- trainer and the Gemma 3n patches
    "Gemma 3n patch: the loss is computed {chunk} tokens at a time over the assistant tokens only, without holding "
    "the logits of the whole batch (same loss and gradients).":
        "Патч Gemma 3n: loss считается по {chunk} токенов за раз и только по токенам ответов, не храня в памяти "
        "логиты всего пакета (loss и градиенты те же).",
    "Gemma 3n patch: keeping {count} kinds of layers out of 4-bit (altup, laurel, per-layer input, output head); "
    "embeddings are never 4-bit.":
        "Патч Gemma 3n: видов слоёв, которые не сжимаются до 4 бит: {count} (altup, laurel, послойный вход, "
        "выходной слой); эмбеддинги до 4 бит не сжимаются никогда.",
    "Gemma 3n patch: loaded only the text model (Gemma3nForCausalLM); vision and audio are not in memory.":
        "Патч Gemma 3n: загружена только текстовая модель (Gemma3nForCausalLM); блоков изображений и звука в памяти нет.",
    "Gemma 3n patch: KV cache off while training (activation checkpointing recomputes instead).":
        "Патч Gemma 3n: KV-кэш на время обучения выключен (вместо него активации пересчитываются: activation checkpointing).",
    "Gemma 3n patch: the per-layer embedding table ({size:.2f} GB, {dtype}) stays in CPU RAM; each step looks up "
    "only its tokens' rows and sends them to {device}.":
        "Патч Gemma 3n: послойная таблица эмбеддингов ({size:.2f} ГБ, {dtype}) остаётся в оперативной памяти; "
        "на каждом шаге из неё берутся только строки нужных токенов и отправляются на {device}.",
    # ---- model loading
    "vision tower": "блок обработки изображений",
    "audio tower": "блок обработки звука",
    "vision embedder": "эмбеддер изображений",
    "audio embedder": "эмбеддер звука",
    "unused k/v of the KV-shared layers": "неиспользуемые k/v слоёв с общим KV-кэшем",
    "other non-text tensors": "прочие нетекстовые тензоры",
    "Nothing of the checkpoint was left out.": "Из файлов модели загружено всё.",
    "{label} ({count} tensors, {millions:,.1f} M parameters)":
        "{label} (тензоров: {count}, параметров: {millions:,.1f} млн)",
    "Left out of memory (not needed to train the text model): {parts}.":
        "Не загружено в память (для обучения текстовой модели не нужно): {parts}.",
    "LoRA rank {rank}, alpha {alpha} on {targets}: {trainable:,} trainable parameters of {total:,} ({share:.2f}%).":
        "LoRA ранга {rank}, alpha {alpha} на {targets}: обучаемых параметров {trainable:,} из {total:,} "
        "({share:.2f}%).",
    # ---- device and out-of-memory errors
    "this GPU computes in bfloat16 natively": "эта видеокарта умеет считать в bfloat16",
    "this GPU has no native bfloat16, and Gemma 3n overflows in float16 (activations beyond 65,504 become "
    "inf/NaN), so the parts that are not 4-bit run in float32: slower, and they take twice the memory":
        "эта видеокарта не поддерживает bfloat16, а в float16 у Gemma 3n переполнение (активации больше 65 504 "
        "превращаются в inf/NaN), поэтому всё, что не в 4 битах, считается во float32: медленнее, и памяти эти "
        "части занимают вдвое больше",
    "on a CPU float32 is faster than bfloat16, and exact": "на процессоре float32 быстрее bfloat16 и точнее",
    "CPU (no CUDA GPU found)": "процессор (видеокарта с CUDA не найдена)",
    ", {size:.1f} GB": ", {size:.1f} ГБ",
    "no bf16": "без bf16",
    "GPU {name}{memory}, {bf16}": "видеокарта {name}{memory}, {bf16}",
    "The GPU ran out of memory while {doing}.": "Не хватило видеопамяти ({doing}).",
    "{close}, or {lighter}; then run this step again.": "{close} или {lighter}, затем запустите этот шаг снова.",
    "The computer ran out of memory (RAM) while {doing}.": "Не хватило оперативной памяти ({doing}).",
    "Close other programs, or {lighter}; then run this step again.":
        "Закройте другие программы или {lighter}, затем запустите этот шаг снова.",
    "Windows ran out of memory while {doing} (RAM plus the paging file is too small).":
        "Windows не хватило памяти ({doing}): оперативной памяти вместе с файлом подкачки слишком мало.",
    "Close other programs, or let Windows manage the paging file size (System > About > Advanced system settings "
    "> Performance > Advanced > Virtual memory), with at least 20 GB free on drive C:; then run this step again.":
        "Закройте другие программы или разрешите Windows самой выбирать размер файла подкачки (Система > О системе "
        "> Дополнительные параметры системы > Быстродействие > Дополнительно > Виртуальная память); на "
        "диске C: должно быть свободно не меньше 20 ГБ. Затем запустите этот шаг снова.",
    # ---- resume
    "the adapter has another size": "у адаптера другой размер",
    "the adapter belongs to another model": "адаптер обучен для другой модели",
    "the training data (data/train_dataset.jsonl)": "данные для обучения (data/train_dataset.jsonl)",
    "the evaluation data (data/eval_dataset.jsonl)": "проверочные данные (data/eval_dataset.jsonl)",
    "the base model": "исходная модель",
    "{name} changed": "изменилось: {name}",
    "planned updates": "запланировано шагов обучения",
    "examples per update": "примеров на шаг обучения",
    "passes": "проходов по данным",
    "updates between evaluations": "шагов обучения между проверками",
    "warmup updates": "шагов разогрева",
    "{folder} holds checkpoints but no record ({record}) of the settings and data they were trained with.":
        "В {folder} есть контрольные точки, но нет записи ({record}) о том, с какими настройками и данными они "
        "обучены.",
    "Run finetune_gemma.bat --resume to continue from the latest one anyway, or --restart to start over (the old "
    "checkpoints are deleted).":
        "Запустите finetune_gemma.bat --resume, чтобы всё равно продолжить с последней, или --restart, чтобы "
        "начать заново (старые контрольные точки будут удалены).",
    "The checkpoints in {folder} cannot continue with this run: {changes}.":
        "С контрольных точек в {folder} нельзя продолжить это обучение: {changes}.",
    "Run finetune_gemma.bat --restart to train a new adapter from the start (the old checkpoints are deleted), or "
    "change the setting back.":
        "Запустите finetune_gemma.bat --restart, чтобы обучить новый адаптер с начала (старые контрольные точки "
        "будут удалены), или верните прежнее значение настройки.",
    "Since the last training run in {folder} these changed: {changes}.":
        "С прошлого запуска обучения в {folder} изменилось: {changes}.",
    "Run finetune_gemma.bat --resume to continue from {checkpoint} with the new values, or --restart to start over "
    "(the old checkpoints are deleted).":
        "Запустите finetune_gemma.bat --resume, чтобы продолжить с {checkpoint} с новыми значениями, или --restart, "
        "чтобы начать заново (старые контрольные точки будут удалены).",
    "Delete it and run finetune_gemma.bat --resume, or start over with --restart.":
        "Удалите его и запустите finetune_gemma.bat --resume или начните заново с --restart.",
    "The checkpoint {folder} is damaged: {name} {why}.": "Контрольная точка {folder} повреждена: {name} {why}.",
    "Delete the folder {folder} to resume from the checkpoint before it, or start over with finetune_gemma.bat "
    "--restart.":
        "Удалите папку {folder}, чтобы продолжить с предыдущей контрольной точки, или начните заново: "
        "finetune_gemma.bat --restart.",
    "cannot be read as JSON": "не читается как JSON",
    "is not a valid .safetensors file": "— неправильный файл .safetensors",
    "holds something other than tensors and numbers, so PyTorch's safe loader refuses it":
        "содержит не только тензоры и числа, поэтому безопасный загрузчик PyTorch его не открывает",
    "is cut short or is not a PyTorch file": "обрезан или это не файл PyTorch",
    # ---- summary
    "no kept checkpoint has an eval loss, so the last step's adapter":
        "ни у одной сохранённой контрольной точки нет loss на проверочных примерах, поэтому взят адаптер "
        "последнего шага",
    "the lowest eval loss among the kept checkpoints ({loss:.4g}); the lowest of all {evaluated} evaluations, "
    "{best:.4g} at step {best_step}, was not kept (keep_best_checkpoints)":
        "наименьший loss на проверочных примерах среди сохранённых контрольных точек ({loss:.4g}); самый низкий "
        "за все проверки ({evaluated}), {best:.4g} на шаге {best_step}, не сохранён (keep_best_checkpoints)",
    "the lowest eval loss ({loss:.4g}) of {evaluated} evaluations was at the last step":
        "наименьший loss на проверочных примерах ({loss:.4g}) из всех проверок ({evaluated}) — на последнем шаге",
    "the lowest eval loss ({loss:.4g}) of {evaluated} evaluations; the last step {last_step} had {last_loss:.4g} "
    "(training further made it worse)":
        "наименьший loss на проверочных примерах ({loss:.4g}) из всех проверок ({evaluated}); на последнем шаге "
        "{last_step} было {last_loss:.4g} (дальнейшее обучение его ухудшило)",
    "measured in the last run on {device}: {speed:,.0f} tokens/s":
        "измерено в прошлый раз на {device}: {speed:,.0f} токенов/с",
    "Trained {steps} steps: train loss {first:.4g} -> {last:.4g}; padding {padding:.1f}% of the batch tokens.":
        "Шагов обучения: {steps}; loss на обучении {first:.4g} -> {last:.4g}; заполнитель (padding) — "
        "{padding:.1f}% токенов пакета.",
    "step {step} (eval loss {loss:.4g})": "шаг {step} (loss на проверочных примерах {loss:.4g})",
    "Best checkpoints kept: {best}.": "Сохранены лучшие контрольные точки: {best}.",
    "The adapter is step {step}'s: {reason}.": "Адаптер взят с шага {step}: {reason}.",
    "The last step's adapter stays in {folder} (merge_lora.bat --adapter \"{folder}\" merges it instead).":
        "Адаптер последнего шага остаётся в {folder} (чтобы объединить с моделью именно его: "
        "merge_lora.bat --adapter \"{folder}\").",
    "GPU memory: peak {peak:.2f} GB in tensors (the estimate was {estimate:.2f} GB).":
        "Видеопамять: пик {peak:.2f} ГБ в тензорах (по оценке было {estimate:.2f} ГБ).",
    "Skipped {n} update(s) with NaN/infinite values (steps {steps}).": (
        "Пропущен {n} шаг обучения со значениями NaN или бесконечностью (шаги {steps}).",
        "Пропущено {n} шага обучения со значениями NaN или бесконечностью (шаги {steps}).",
        "Пропущено {n} шагов обучения со значениями NaN или бесконечностью (шаги {steps})."),
    "Training stopped at step {step}: the loss or the gradients were NaN or infinite {count} steps in a row (steps "
    "{first}-{last}). ":
        "Обучение остановлено на шаге {step}: loss или градиенты были NaN или бесконечностью несколько шагов "
        "подряд ({count}, шаги {first}-{last}). ",
    "No checkpoint was saved before that.": "До этого ни одна контрольная точка не была сохранена.",
    "Lower learning_rate (e.g. --set learning_rate=5e-5) and run finetune_gemma.bat --restart. If it happens "
    "again, check the dataset for very long or odd examples.":
        "Уменьшите learning_rate (например, --set learning_rate=5e-5) и запустите finetune_gemma.bat --restart. "
        "Если это повторится, поищите в наборе данных очень длинные или странные примеры.",
    "The last good checkpoint is {folder} (step {step}).": "Последняя исправная контрольная точка: {folder} (шаг {step}).",
    "Lower learning_rate (e.g. --set learning_rate=5e-5) and run finetune_gemma.bat --resume (the updates with NaN "
    "were skipped, so the latest checkpoint still holds that step's weights), or --restart. If it happens again, "
    "check the dataset for very long or odd examples.":
        "Уменьшите learning_rate (например, --set learning_rate=5e-5) и запустите finetune_gemma.bat --resume "
        "(шаги с NaN были пропущены, так что в последней контрольной точке исправные веса) или --restart. Если "
        "это повторится, поищите в наборе данных очень длинные или странные примеры.",
}
