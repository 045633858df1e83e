"""Russian: the setup scripts prepare_venv.bat runs before the kit is installed (setup_check, setup_plan,
venv_check); the core part's other messages are in ru_core.py."""

MESSAGES = {
    # ---- setup_check.py (run by prepare_venv.bat)
    "run prepare_venv.bat again: it replaces the installed PyTorch with the right build":
        "запустите prepare_venv.bat ещё раз: он заменит установленный PyTorch на подходящую сборку",
    "PyTorch is not installed yet": "PyTorch ещё не установлен",
    "PyTorch {installed} is installed; the kit is tested with {pinned}":
        "Установлен PyTorch {installed}; набор проверен с {pinned}",
    "PyTorch {installed} is installed": "Установлен PyTorch {installed}",
    "PyTorch {installed} is the CPU-only build": "PyTorch {installed} — сборка только для процессора",
    "PyTorch {installed} has no code for this card ({arch})":
        "В PyTorch {installed} нет кода для этой видеокарты ({arch})",
    "PyTorch {installed} has code for this card ({arch})":
        "В PyTorch {installed} есть код для этой видеокарты ({arch})",
    "PyTorch does not load: {error}": "PyTorch не загружается: {error}",
    "delete the .venv folder and run prepare_venv.bat again":
        "удалите папку .venv и запустите prepare_venv.bat ещё раз",
    "The installed PyTorch is the CPU-only build, although this PC has an NVIDIA GPU.":
        "Установлена сборка PyTorch только для процессора, хотя на этом компьютере есть видеокарта NVIDIA.",
    "The NVIDIA driver {driver} is too old for PyTorch with CUDA {cuda} (it needs {need} or newer).":
        "Драйвер NVIDIA {driver} слишком старый для PyTorch с CUDA {cuda} (нужен {need} или новее).",
    "update the driver from {url}, restart Windows, then run prepare_venv.bat again":
        "обновите драйвер с {url}, перезагрузите Windows и запустите prepare_venv.bat ещё раз",
    "PyTorch (CUDA {cuda}) cannot use the GPU: CUDA did not start.":
        "PyTorch (CUDA {cuda}) не может работать с видеокартой: CUDA не запустилась.",
    "restart Windows; if that does not help, install the newest driver from {url} and run prepare_venv.bat again":
        "перезагрузите Windows; если не поможет, установите новейший драйвер с {url} и запустите "
        "prepare_venv.bat ещё раз",
    "PyTorch's first GPU is the {device} (sm_{capability}), but the build was chosen for the first GPU nvidia-smi "
    "lists ({arch}), and it has no code for the {device} (it has {archs}). GPU order settings here: {settings}.":
        "Первая видеокарта для PyTorch — {device} (sm_{capability}), а сборка выбрана для первой видеокарты в "
        "списке nvidia-smi ({arch}), и кода для {device} в ней нет (есть {archs}). Настройки порядка "
        "видеокарт здесь: {settings}.",
    "none": "нет",
    "remove CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER from Windows' environment variables (Start > \"Edit the "
    "system environment variables\" > Environment Variables), open a new window and run prepare_venv.bat again":
        "удалите CUDA_VISIBLE_DEVICES и CUDA_DEVICE_ORDER из переменных среды Windows (Пуск > «Изменение "
        "системных переменных среды» > Переменные среды), откройте новое окно и запустите prepare_venv.bat ещё раз",
    "The {name} is too old for PyTorch {torch}.": "Видеокарта {name} слишком старая для PyTorch {torch}.",
    "training needs an NVIDIA GPU of compute capability 5.0 or newer; without one it runs on the CPU (very slowly)":
        "для обучения нужна видеокарта NVIDIA с compute capability 5.0 или новее; без неё обучение идёт на "
        "процессоре (очень медленно)",
    "This PyTorch build has no code for the {name}: it has {archs}.":
        "В этой сборке PyTorch нет кода для {name}: в ней есть {archs}.",
    "A test calculation on the {device} failed: {error}": "Пробное вычисление на {device} завершилось ошибкой: {error}",
    "restart Windows, update the driver from {url}, then run prepare_venv.bat again":
        "перезагрузите Windows, обновите драйвер с {url} и запустите prepare_venv.bat ещё раз",
    "bitsandbytes (the 4-bit part of training) does not work: {error}":
        "bitsandbytes (4-битная часть обучения) не работает: {error}",
    "the {device} is too old for 4-bit training; a GPU of compute capability 6.0 or newer is needed":
        "видеокарта {device} слишком старая для 4-битного обучения; нужна видеокарта с compute capability 6.0 или новее",
    "run prepare_venv.bat again; if it repeats, delete the .venv folder first":
        "запустите prepare_venv.bat ещё раз; если ошибка повторится, сначала удалите папку .venv",
    "the result was wrong": "результат неверный",
    "a 4-bit round trip gave wrong numbers": "после сжатия в 4 бита и обратно получились неверные числа",
    "Checked: PyTorch uses the {device} (sm_{capability}, CUDA {cuda}), a test calculation ran on it, and 4-bit "
    "quantization works.":
        "Проверено: PyTorch работает с {device} (sm_{capability}, CUDA {cuda}), пробное вычисление на ней "
        "прошло, 4-битное квантование работает.",
    "Note: the build was chosen for the first GPU nvidia-smi lists ({arch}); it also runs on the {device}, which "
    "training will use.":
        "Примечание: сборка выбрана для первой видеокарты в списке nvidia-smi ({arch}); она работает и на "
        "{device}, на которой будет идти обучение.",
    "Checked: PyTorch and bitsandbytes load. There is no usable NVIDIA GPU, so training will run on the CPU (very "
    "slowly).":
        "Проверено: PyTorch и bitsandbytes загружаются. Подходящей видеокарты NVIDIA нет, поэтому обучение "
        "будет идти на процессоре (очень медленно).",

    # ---- setup_plan.py (run by prepare_venv.bat)
    "The CPU build of PyTorch will be installed: every step works, but training on the processor is very slow "
    "(days instead of hours).":
        "Будет установлена сборка PyTorch для процессора: все шаги работают, но обучение на процессоре очень "
        "медленное (дни вместо часов).",
    "{name} (driver {driver})": "{name} (драйвер {driver})",
    "NVIDIA GPU found: {cards}. The driver is too old: nvidia-smi cannot report the card's compute capability "
    "({problem}), as with drivers before about version 510. Every PyTorch {torch} build for NVIDIA cards needs "
    "driver {need} or newer. Update the driver from {url}, restart Windows, then run prepare_venv.bat again.":
        "Найдена видеокарта NVIDIA: {cards}. Драйвер слишком старый: nvidia-smi не сообщает compute "
        "capability видеокарты ({problem}), как бывает с драйверами примерно до версии 510. Всем сборкам PyTorch "
        "{torch} для видеокарт NVIDIA нужен драйвер {need} или новее. Обновите драйвер с {url}, перезагрузите "
        "Windows и запустите prepare_venv.bat ещё раз.",
    "nvidia-smi lists {cards}, but ": "nvidia-smi видит {cards}, но ",
    "The NVIDIA driver does not work: {found}{problem}. The CPU build of PyTorch is not installed instead: this "
    "PC has an NVIDIA driver, and training on the processor would take days.":
        "Драйвер NVIDIA не работает: {found}{problem}. Ставить вместо этого сборку PyTorch для процессора не "
        "будем: на этом компьютере есть драйвер NVIDIA, а обучение на процессоре заняло бы дни.",
    "Reinstall the NVIDIA driver from {url} (in its installer choose \"Custom\", then \"Perform a clean "
    "installation\"), restart Windows, then run prepare_venv.bat again.":
        "Переустановите драйвер NVIDIA с {url} (в установщике выберите «Выборочная установка», затем "
        "«Выполнить чистую установку»), перезагрузите Windows и запустите prepare_venv.bat ещё раз.",
    "No NVIDIA GPU found: {problem}.": "Видеокарта NVIDIA не найдена: {problem}.",
    "No NVIDIA GPU found: nvidia-smi printed something this kit does not understand ({shown}). A very old NVIDIA "
    "driver does this: if you have an NVIDIA card, update its driver from {url} and run prepare_venv.bat again.":
        "Видеокарта NVIDIA не найдена: nvidia-smi ответил непонятно для набора ({shown}). Так бывает с очень "
        "старым драйвером NVIDIA: если у вас видеокарта NVIDIA, обновите драйвер с {url} и запустите "
        "prepare_venv.bat ещё раз.",
    "No NVIDIA GPU found: nvidia-smi answered but listed no GPU.":
        "Видеокарта NVIDIA не найдена: nvidia-smi ответил, но не назвал ни одной видеокарты.",
    "Note: {n} line(s) of nvidia-smi's answer were not understood and ignored.": (
        "Примечание: {n} строка ответа nvidia-smi не распознана и пропущена.",
        "Примечание: {n} строки ответа nvidia-smi не распознаны и пропущены.",
        "Примечание: {n} строк ответа nvidia-smi не распознаны и пропущены.",
    ),
    "{name} (compute {compute})": "{name} (версия архитектуры {compute})",
    "{n} NVIDIA GPUs found.": (
        "Найдена {n} видеокарта NVIDIA.",
        "Найдено {n} видеокарты NVIDIA.",
        "Найдено {n} видеокарт NVIDIA.",
    ),
    "{found} Training uses one GPU: the first listed, {name}. The build is chosen for it (also here: {names}).":
        "{found} Обучение использует одну видеокарту — первую в списке, {name}. Сборка выбрана для неё (другие "
        "видеокарты здесь: {names}).",
    "{name} (compute capability {compute}, {arch}, driver {driver})":
        "{name} (compute capability {compute}, {arch}, драйвер {driver})",
    "The {card} is too old for PyTorch {torch}: its CUDA builds need compute capability 5.0 or newer.":
        "{card} — слишком старая видеокарта для PyTorch {torch}: его сборкам с CUDA нужна compute capability "
        "5.0 или новее.",
    "The NVIDIA driver {driver} is too old for the {name}: PyTorch {torch} with CUDA {cuda} (the build this card "
    "needs) requires driver {need} or newer. Update the driver from {url}, restart Windows, then run "
    "prepare_venv.bat again.":
        "Драйвер NVIDIA {driver} слишком старый для {name}: PyTorch {torch} с CUDA {cuda} (сборка, нужная этой "
        "видеокарте) требует драйвер {need} или новее. Обновите драйвер с {url}, перезагрузите Windows и "
        "запустите prepare_venv.bat ещё раз.",
    "the newest build that every GPU listed can run (on driver {driver})":
        "новейшая сборка, которая работает на всех найденных видеокартах (с драйвером {driver})",
    "the newest build that has code for {arch} and runs on driver {driver}":
        "новейшая сборка, в которой есть код для {arch} и которая работает с драйвером {driver}",
    "{card}: installing PyTorch {torch} with CUDA {cuda} ({tag}), {why}.":
        "{card}: устанавливаем PyTorch {torch} с CUDA {cuda} ({tag}) — {why}.",
    "(A driver {need} or newer would allow CUDA {cuda}; not needed for this kit.)":
        "(С драйвером {need} или новее можно было бы взять CUDA {cuda}; для этого набора это не нужно.)",
    "This build cannot use: {cards}. That does not matter for training, which runs on one GPU.":
        "Эта сборка не может использовать: {cards}. Для обучения это не важно: оно идёт на одной видеокарте.",
    "nvidia-smi could not be run ({reason})": "не удалось запустить nvidia-smi ({reason})",
    "nvidia-smi is not installed (it comes with the NVIDIA driver)":
        "nvidia-smi не установлен (он ставится вместе с драйвером NVIDIA)",
    "nvidia-smi failed (exit code {code}{said})": "nvidia-smi завершился с ошибкой (код выхода {code}{said})",
    "the nvidia-smi answer {path} could not be read ({reason})":
        "не удалось прочитать ответ nvidia-smi {path} ({reason})",

    # ---- venv_check.py (run by prepare_venv.bat)
    "{cfg_file} is missing or unreadable, so {venv} is not a complete Python environment":
        "файла {cfg_file} нет или он не читается, значит, {venv} — неполное окружение Python",
    "{cfg_file} does not say which Python made it": "в {cfg_file} не сказано, каким Python оно создано",
    "it was made with Python {version}, and the kit needs Python {supported} (its libraries do not install on "
    "other versions)":
        "оно создано Python {version}, а набору нужен Python {supported} (на других версиях его библиотеки не "
        "устанавливаются)",
    "the Python it was made from ({base}) no longer exists: it was uninstalled or updated, or the folder comes "
    "from another computer":
        "Python, которым оно создано ({base}), больше нет: его удалили или обновили, либо папка перенесена с "
        "другого компьютера",
    "the Python it was made from (in {home}) no longer exists: it was uninstalled or updated, or the folder comes "
    "from another computer":
        "Python, которым оно создано (в {home}), больше нет: его удалили или обновили, либо папка перенесена с "
        "другого компьютера",
    "an unrecorded folder": "неизвестной папке",
    "it was made with a {kind} Python ({base}), and PyTorch needs the 64-bit Python for x64 (AMD64) Windows":
        "оно создано Python {kind} ({base}), а PyTorch нужен 64-битный Python для Windows x64 (AMD64)",
    "it was made in another folder ({made_in}): the kit was moved or copied, and an environment only works where "
    "it was made":
        "оно создано в другой папке ({made_in}): набор перенесли или скопировали, а окружение работает только "
        "там, где его создали",
    "its Python ({python}) is missing: the environment is incomplete": "нет его Python ({python}): окружение неполное",
    "The existing {venv} cannot be used: {problem}. It will be removed and built again.":
        "Имеющееся окружение {venv} нельзя использовать: {problem}. Оно будет удалено и создано заново.",
}
