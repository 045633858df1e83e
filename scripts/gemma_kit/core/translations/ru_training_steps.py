"""Russian: the steps around training (the before/after report and its HTML page, TensorBoard, doctor).

Part of the training part's table (ru_training.py holds finetune and training/); split only to keep files short.
"""

MESSAGES = {
    # ---- TensorBoard
    "Starting TensorBoard on {folder} at {url}  (Ctrl+C to stop)":
        "Запускаем TensorBoard для {folder} по адресу {url}  (остановить: Ctrl+C)",
    "There are no training runs in {folder} yet.": "В {folder} пока нет ни одного запуска обучения.",
    "Run finetune_gemma.bat first; its curves appear here while it trains.":
        "Сначала запустите finetune_gemma.bat: графики его обучения появятся здесь прямо во время работы.",
    # ---- the before/after report (steps/report.py), console and HTML page
    "There is no trained adapter in {folder}.": "В {folder} нет обученного адаптера.",
    "Run finetune_gemma.bat first (or point --adapter at a checkpoint folder).":
        "Сначала запустите finetune_gemma.bat (или укажите в --adapter папку контрольной точки).",
    "Run download_model.bat first.": "Сначала запустите download_model.bat.",
    "Loading {name} (4-bit) with the adapter {adapter} ...": "Загружаем {name} (4 бита) с адаптером {adapter} ...",
    "Generating replies": "Модели отвечают",
    "batch": "пакет",
    "Eval loss": "Loss на проверочных примерах",
    "writing the before/after report": "создание отчёта «до и после»",
    "lower report_max_new_tokens or report_examples in settings.toml":
        "уменьшите report_max_new_tokens или report_examples в settings.toml",
    "{hours} h {minutes} min": "{hours} ч {minutes} мин",
    "{minutes} min {seconds} s": "{minutes} мин {seconds} с",
    "{ratio:.1f}x more likely": "в {ratio:.1f} раза вероятнее",
    "{ratio:.1f}x less likely": "в {ratio:.1f} раза менее вероятными",
    "them": "собеседник",
    "you": "вы",
    "system": "система",
    "(empty reply)": "(пустой ответ)",
    "Eval loss, base model": "Loss исходной модели на проверочных примерах",
    "Eval loss, fine-tuned": "Loss после дообучения на проверочных примерах",
    "Your real replies became": "Ваши настоящие ответы для модели стали",
    "Training time": "Время обучения",
    "Preset": "Пресет",
    "Steps": "Шагов обучения",
    "Held-out examples": "Проверочные примеры",
    "#{number} (eval_dataset.jsonl, line {line})": "№{number} (eval_dataset.jsonl, строка {line})",
    "Conversation": "Диалог",
    "What you actually wrote": "Что на самом деле написали вы",
    "Base model": "Исходная модель",
    "Fine-tuned": "После дообучения",
    "Gemma 3n fine-tuning report": "Отчёт о дообучении Gemma 3n",
    "Before / after: does it talk like you?": "До и после: говорит ли модель как вы?",
    "Dialogs the model never saw in training. Same decoding for both models (greedy). Lower loss = your real "
    "replies are more expected.":
        "Диалоги, которых модель при обучении не видела. Обе модели отвечают одним и тем же способом, "
        "без случайности. "
        "Loss — насколько неожиданны для модели ваши настоящие ответы: чем меньше, тем лучше.",
    "Adapter: {folder}": "Адаптер: {folder}",
    "Eval loss: base {base:.3f} -> fine-tuned {tuned:.3f} (your real replies became {change}).":
        "Loss на проверочных примерах (чем меньше, тем лучше): исходная модель {base:.3f} -> после дообучения "
        "{tuned:.3f} (ваши настоящие ответы для модели стали {change}).",
    "you wrote:": "вы написали:",
    "base:": "исходная:",
    "fine-tuned:": "дообученная:",
    "Report with {count} held-out dialogs: {path}  (open it in a browser)":
        "Отчёт по проверочным диалогам ({count}): {path}  (откройте его в браузере)",
    # ---- doctor
    "Python {versions} is needed (the kit's libraries do not install on other versions); run prepare_venv.bat, "
    "which offers to install Python 3.12 and rebuilds .venv with it":
        "нужен Python {versions} (на другие версии библиотеки набора не ставятся); запустите prepare_venv.bat: он "
        "предложит установить Python 3.12 и пересоздаст с ним .venv",
    "this PyTorch build has no code for the GPU (sm_{capability}; it has {archs}): run prepare_venv.bat again, it "
    "installs the build for this card":
        "в этой сборке PyTorch нет кода для видеокарты (sm_{capability}; есть только {archs}): запустите "
        "prepare_venv.bat ещё раз, он поставит сборку для этой видеокарты",
    "no NVIDIA GPU answered ({why}): training will run on the CPU and be very slow. With an NVIDIA GPU, install its "
    "driver from {url}":
        "видеокарта NVIDIA не отвечает ({why}): обучение пойдёт на процессоре и будет очень медленным. Если "
        "видеокарта NVIDIA есть, установите для неё драйвер с {url}",
    "nvidia-smi lists none": "nvidia-smi не видит ни одной",
    "the CPU-only PyTorch build is installed, but the PC has an {gpu}: run prepare_venv.bat again, it replaces the "
    "CPU build with the CUDA build for this card":
        "установлена сборка PyTorch только для процессора, а в компьютере есть {gpu}: запустите prepare_venv.bat "
        "ещё раз, он заменит её сборкой с CUDA для этой видеокарты",
    "the NVIDIA driver {driver} is too old for this PyTorch build (CUDA {cuda} needs {needed} or newer): update it "
    "from {url} and restart Windows":
        "драйвер NVIDIA {driver} слишком старый для этой сборки PyTorch (для CUDA {cuda} нужен {needed} или новее): "
        "обновите его с {url} и перезагрузите Windows",
    "this PyTorch build (CUDA {cuda}) has no code for the {gpu} (sm_{capability}): run prepare_venv.bat again, it "
    "installs the build for this card":
        "в этой сборке PyTorch (CUDA {cuda}) нет кода для {gpu} (sm_{capability}): запустите prepare_venv.bat ещё "
        "раз, он поставит сборку для этой видеокарты",
    "PyTorch's CUDA {cuda} build is right for the {gpu}, but CUDA did not start: restart Windows; if that does not "
    "help, install the newest driver from {url}":
        "сборка PyTorch с CUDA {cuda} подходит для {gpu}, но CUDA не запустилась: перезагрузите Windows; если не "
        "поможет, установите самый новый драйвер с {url}",
    "not installed": "не установлен",
    "run prepare_venv.bat": "запустите prepare_venv.bat",
    "CUDA {cuda} build": "сборка с CUDA {cuda}",
    "CPU-only build": "сборка только для процессора",
    "GPU": "Видеокарта",
    "none usable ({build})": "нет подходящей ({build})",
    "bf16 yes": "bf16 есть",
    "bf16 no (fp16 only)": "bf16 нет (только fp16)",
    "{name} (sm_{capability}), {total} VRAM, {free} free, {bf16}":
        "{name} (sm_{capability}), видеопамять {total}, свободно {free}, {bf16}",
    "run prepare_venv.bat (4-bit training needs it)": "запустите prepare_venv.bat (он нужен для 4-битного обучения)",
    "fails to load": "не загружается",
    "the kit needs about {size} free for the model, checkpoints, the merged model and the .gguf; free some space":
        "набору нужно около {size} свободного места: для модели, контрольных точек, объединённой модели и файла "
        ".gguf; освободите место на диске",
    "Free disk": "Место на диске",
    "{size} on {folder}": "свободно {size} в {folder}",
    "RAM": "Оперативная память",
    "{size} of RAM or more is recommended: training keeps the model's {table} GB per-layer table in RAM. With less, "
    "close other programs while training, choose model = \"E2B\", and let Windows manage the paging file size":
        "рекомендуется {size} оперативной памяти или больше: при обучении послойная таблица модели ({table} ГБ) "
        "лежит в оперативной памяти. Если памяти меньше, закройте на время обучения другие программы, выберите "
        "model = \"E2B\" и разрешите Windows самой выбирать размер файла подкачки",
    "Model": "Модель",
    "{model} at {folder}: complete": "{model} в {folder}: скачана полностью",
    "not downloaded yet ({folder})": "ещё не скачана ({folder})",
    "run download_model.bat": "запустите download_model.bat",
    "{folder}: incomplete": "{folder}: скачана не полностью",
    "{problems} — run download_model.bat again": "{problems} — запустите download_model.bat ещё раз",
    "What to fix:": "Что исправить:",
    "Everything needed is in place.": "Всё нужное на месте.",
}
