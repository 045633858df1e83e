"""Russian: the kit's core (settings, paths, model files), the pipeline's questions, the CLI and download-model
(the setup scripts prepare_venv.bat runs: ru_core_setup.py)."""

MESSAGES = {
    # ---- core/json_files.py, core/model_files.py
    "one JSON object": "один объект JSON",
    "one JSON object of settings": "один объект JSON с параметрами модели",
    "{path} is damaged (it should hold {holds}).": "Файл {path} повреждён (в нём должен быть {holds}).",
    "{path} is damaged (invalid JSON at line {line}, column {column}).":
        "Файл {path} повреждён (ошибка JSON в строке {line}, столбце {column}).",
    "{path} is damaged (not UTF-8 JSON text).": "Файл {path} повреждён (это не текст JSON в UTF-8).",
    "The file is damaged or not a .safetensors file: download the model again (download_model.bat), or run the "
    "step that wrote it again (merge-lora, finetune).":
        "Файл повреждён или это не файл .safetensors: скачайте модель заново (download_model.bat) или снова "
        "запустите шаг, который его записал (merge-lora, finetune).",
    "Download the model again (download_model.bat).": "Скачайте модель заново (download_model.bat).",
    "{path} is damaged: {problem}.": "Файл {path} повреждён: {problem}.",
    "{path} is cut short: {size:,} bytes of the {data_end:,} its header lists (an interrupted download or copy).":
        "Файл {path} обрезан: в нём {size:,} байт из {data_end:,}, указанных в заголовке (скачивание или "
        "копирование было прервано).",
    "Run download_model.bat again (it fetches what is missing), or copy the file again.":
        "Запустите download_model.bat ещё раз (он докачает недостающее) или скопируйте файл заново.",
    "is not described by an object": "описан не объектом",
    "has an unknown number type {dtype!r}": "имеет неизвестный тип чисел {dtype!r}",
    "has no valid shape (a list of whole numbers)": "не имеет правильной формы (списка целых чисел)",
    "has no valid data_offsets (two whole numbers, start <= end)":
        "не имеет правильного data_offsets (два целых числа, начало <= конец)",
    "takes {nbytes:,} bytes, but its shape {shape} in {dtype} needs a different size":
        "занимает {nbytes:,} байт, а для формы {shape} в {dtype} нужен другой размер",
    "{folder} has no .safetensors weight files.": "В папке {folder} нет файлов весов .safetensors.",
    "Point to a folder with the model's .safetensors files (download_model.bat puts them under models/).":
        "Укажите папку с файлами .safetensors модели (download_model.bat кладёт их в models/).",
    "{folder} has no config.json, so it is not a model checkpoint folder.":
        "В папке {folder} нет config.json, значит, это не папка с моделью.",
    "Point to the folder that holds config.json and the .safetensors files (download_model.bat puts it under "
    "models/).":
        "Укажите папку, в которой лежат config.json и файлы .safetensors (download_model.bat кладёт её в models/).",
    "unknown": "неизвестно",
    "{folder} holds a '{arch}' model, not Gemma 3n.": "В папке {folder} модель '{arch}', а не Gemma 3n.",
    "This kit works only with Gemma 3n (google/gemma-3n-E2B-it or -E4B-it).":
        "Этот набор работает только с Gemma 3n (google/gemma-3n-E2B-it или -E4B-it).",
    "{path} is cut short (its header is incomplete).": "Файл {path} обрезан (его заголовок неполный).",
    "Download or write the model again.": "Скачайте или запишите модель заново.",
    "its header is a JSON {kind}, not an object of tensors": "его заголовок — JSON {kind}, а не объект с тензорами",
    "its __metadata__ is not an object": "его __metadata__ — не объект",
    "{path} is damaged: it should map each tensor name to a .safetensors file of this folder.":
        "Файл {path} повреждён: в нём для каждого тензора должен быть указан файл .safetensors из этой папки.",
    "the folder {folder} does not exist": "папки {folder} не существует",
    "tokenizer.model is missing (the GGUF step needs the SentencePiece tokenizer)":
        "нет файла tokenizer.model (он нужен для шага GGUF: это токенизатор SentencePiece)",
    "Cannot read {path}: {reason}.": "Не удаётся прочитать {path}: {reason}.",
    "Check that the file is there and readable.": "Проверьте, что файл на месте и его можно прочитать.",
    "its header is not UTF-8 text": "его заголовок — не текст в UTF-8",
    "its header is not valid JSON": "его заголовок — неправильный JSON",
    "tensor {name!r} {problem}": "тензор {name!r} {problem}",
    "{folder} is incomplete: {n} weight file(s) listed in {index} are missing: {names}.": (
        "Папка {folder} неполная: отсутствует {n} файл весов из списка {index}: {names}.",
        "Папка {folder} неполная: отсутствуют {n} файла весов из списка {index}: {names}.",
        "Папка {folder} неполная: отсутствуют {n} файлов весов из списка {index}: {names}.",
    ),
    "Run download_model.bat again (it resumes), or copy the missing files in.":
        "Запустите download_model.bat ещё раз (он продолжит скачивание) или скопируйте недостающие файлы.",
    "{folder}: {n} tensor(s) listed in {index} are not in the weight files (first: {first}).": (
        "{folder}: {n} тензор из списка {index} отсутствует в файлах весов (первый: {first}).",
        "{folder}: {n} тензора из списка {index} отсутствуют в файлах весов (первый: {first}).",
        "{folder}: {n} тензоров из списка {index} отсутствуют в файлах весов (первый: {first}).",
    ),
    "{path} is empty or cut short.": "Файл {path} пустой или обрезан.",
    "its first 8 bytes announce a header of {header_len:,} bytes in a file of {size:,} bytes":
        "первые 8 байт обещают заголовок в {header_len:,} байт, а во всём файле {size:,} байт",

    # ---- core/paths.py
    "Choose another output folder (--output), or make this one writable: not on a read-only or full drive, not "
    "inside a protected folder such as C:\\Program Files, not marked read-only.":
        "Выберите другую папку для результата (--output) или сделайте эту доступной для записи: не на диске "
        "только для чтения и не на заполненном диске, не внутри защищённой папки вроде C:\\Program Files, без "
        "атрибута «Только чтение».",
    "Put {dest} back from {old_name}: a run was stopped while replacing it.":
        "Прежняя версия {dest} восстановлена из {old_name}: прошлый запуск остановили во время замены.",
    "Cannot create the folder {folder}: {blocking} is a file, not a folder.":
        "Не удаётся создать папку {folder}: {blocking} — это файл, а не папка.",
    "Point --output at a folder (for prepare-dataset) or a new file name, or move that file away.":
        "Укажите в --output папку (для prepare-dataset) или новое имя файла либо уберите этот файл.",
    "Removed {old}, the previous version an interrupted run left behind.":
        "Удалено: {old} — прежняя версия, оставшаяся после прерванного запуска.",
    "Finished replacing {dest}: a run was stopped after the new version was complete.":
        "Замена {dest} завершена: прошлый запуск остановили, когда новая версия была уже готова.",
    "Not enough free disk space for {what}: it needs about {needed}, {folder} has {free} free.":
        "Не хватает места на диске для {what}: нужно около {needed}, а в {folder} свободно {free}.",
    "Free some space on that drive (or point the output to another drive with --output) and run again.":
        "Освободите место на этом диске (или укажите другой диск через --output) и запустите снова.",
    "Cannot write {dest}: a folder of that name is in the way.":
        "Не удаётся записать {dest}: мешает папка с таким же именем.",
    "Move or rename that folder, or choose another output (--output).":
        "Переместите или переименуйте эту папку либо выберите другое место для результата (--output).",
    "Cannot create the folder {folder}: {reason}.": "Не удаётся создать папку {folder}: {reason}.",
    "Cannot write into the folder {folder}: {reason}.": "Не удаётся записать в папку {folder}: {reason}.",
    "Could not put the new {name} in place: {dest} is in the way ({reason}).":
        "Не удалось поставить на место новую версию {name}: мешает {dest} ({reason}).",
    "Move or rename it, or choose another output (--output), then run this step again.":
        "Переместите или переименуйте его либо выберите другое место для результата (--output), затем "
        "запустите этот шаг снова.",
    "Could not replace {dest}: another program is using it.":
        "Не удалось заменить {dest}: его использует другая программа.",
    "Close the program or Explorer window that has it open (for example LM Studio), then run this step again.":
        "Закройте программу или окно Проводника, где он открыт (например, LM Studio), и запустите этот шаг снова.",

    # ---- core/settings.py: what each setting allows (read after "must be")
    "2 or more (a message and its reply)": "2 или больше (сообщение и ответ на него)",
    "0 (no limit) or more": "0 (без ограничения) или больше",
    "0 (no cutting) or 2 or more": "0 (не разрезать) или 2 и больше",
    "2 or more": "2 или больше",
    "above 0 and below 0.5, e.g. 0.05": "больше 0 и меньше 0.5, например 0.05",
    "a whole number from 0 to 4294967295": "целым числом от 0 до 4294967295",
    "a whole number of 1 or more": "целым числом не меньше 1",
    "from 0 up to (not including) 1": "от 0 до 1 (но не 1)",
    "1 or more": "1 или больше",
    "0 (from effective_batch_size) or 1 or more": "0 (вычислить из effective_batch_size) или 1 и больше",
    "from 32 to 32768 (Gemma 3n reads at most 32K tokens)": "от 32 до 32768 (Gemma 3n читает не больше 32K токенов)",
    "above 0 and below 1, e.g. 0.0002": "больше 0 и меньше 1, например 0.0002",
    "from 0 up to (not including) 1, e.g. 0.03": "от 0 до 1 (но не 1), например 0.03",
    "0 or more (a finite number)": "0 или больше (конечным числом)",
    "0 (no clipping) or more (a finite number)": "0 (без ограничения) или больше (конечным числом)",
    "0 (about 10 evaluations per run) or 1 or more": "0 (около 10 проверок за обучение) или 1 и больше",
    "-1 (use num_epochs) or 1 or more": "-1 (по num_epochs) или 1 и больше",
    "0 or more": "0 или больше",
    "0 (no report) or more": "0 (без отчёта) или больше",
    # ---- core/settings.py: problems
    "{source}: '{key}' must be {allowed}, not {value!r}":
        "{source}: значение '{key}' должно быть {allowed}, а не {value!r}",
    "{source}: '{name}' must be one of {allowed}, not {value!r}":
        "{source}: значение '{name}' должно быть одним из: {allowed}, а не {value!r}",
    "{source}: '{name}' must be true or false, not {value!r}":
        "{source}: значение '{name}' должно быть true или false, а не {value!r}",
    "{source}: '{name}' must be a whole number, not {value!r}":
        "{source}: значение '{name}' должно быть целым числом, а не {value!r}",
    "{source}: '{name}' must be a number, not {value!r}":
        "{source}: значение '{name}' должно быть числом, а не {value!r}",
    "{source}: '{name}' must be text in quotes, not {value!r}":
        "{source}: значение '{name}' должно быть текстом в кавычках, а не {value!r}",
    "{path} is saved in the Windows Cyrillic encoding (cp1251), not UTF-8; it was read as cp1251. To be sure it "
    "reads the same everywhere, open it in Notepad and save it with the encoding UTF-8.":
        "Файл {path} сохранён в кириллической кодировке Windows (cp1251), а не в UTF-8; он прочитан как cp1251. "
        "Чтобы он везде читался одинаково, откройте его в Блокноте и сохраните в кодировке UTF-8.",
    "The settings path {path} is a folder, not a file.": "Путь к настройкам {path} — это папка, а не файл.",
    "Point --settings at the settings.toml file itself (or leave --settings out).":
        "Укажите в --settings сам файл settings.toml (или не указывайте --settings вовсе).",
    "The settings file {path} does not exist.": "Файла настроек {path} не существует.",
    "Check the --settings path, or leave --settings out to use settings.toml.":
        "Проверьте путь в --settings или уберите --settings, чтобы использовался settings.toml.",
    "command line": "командная строка",
    "Problems in the settings:": "Ошибки в настройках:",
    "Correct these keys (settings.toml lists every key with a comment) and run again.":
        "Исправьте эти настройки (в settings.toml у каждой есть комментарий) и запустите снова.",
    "Correct these values and run again.": "Исправьте эти значения и запустите снова.",
    "Cannot read the settings file {path}: {reason}.": "Не удаётся прочитать файл настроек {path}: {reason}.",
    "Close the program that holds it, check its permissions, or restore it from the kit.":
        "Закройте программу, которая его держит, проверьте права доступа или возьмите файл из комплекта заново.",
    "{path} is not text in UTF-8 (nor in the Windows Cyrillic encoding): byte {start:,} cannot be read.":
        "Файл {path} — не текст в UTF-8 (и не в кириллической кодировке Windows): байт {start:,} не читается.",
    "Open it in Notepad and save it with the encoding UTF-8.":
        "Откройте его в Блокноте и сохраните в кодировке UTF-8.",
    "--set {pair!r}: write it as key=value, e.g. --set lora_rank=16":
        "--set {pair!r}: пишите в виде ключ=значение, например --set lora_rank=16",
    "{path} is not valid TOML: {problem}": "Файл {path} — неправильный TOML: {problem}",
    "Fix the line it names: text values need \"quotes\", and Windows paths need single quotes (model_path = "
    "'D:\\models\\gemma-3n-E4B-it'). Or restore the file from the kit's download.":
        "Исправьте названную строку: текст пишется в \"кавычках\", а пути Windows — в одинарных кавычках "
        "(model_path = 'D:\\models\\gemma-3n-E4B-it'). Или возьмите файл заново из скачанного комплекта.",
    " (did you mean {names}?)": " (может быть, вы имели в виду {names}?)",
    "{source}: unknown setting '{key}'{suggestion}": "{source}: неизвестная настройка '{key}'{suggestion}",

    # ---- pipeline.py
    "===== report: before / after =====": "===== отчёт: до / после =====",
    "the before/after report failed: {problem} (make_report.bat retries it)":
        "не удалось создать отчёт «до и после»: {problem} (make_report.bat попробует ещё раз)",
    "Training finished. Merge the adapter and convert to GGUF now?":
        "Обучение закончено. Объединить адаптер с моделью и создать файл GGUF сейчас?",
    "Put the model into LM Studio now?": "Добавить модель в LM Studio сейчас?",
    "===== demo: {step} =====": "===== демо: {step} =====",
    "The demo stopped at the '{step}' step (exit code {code}); its message is above.":
        "Демо остановилось на шаге «{step}» (код выхода {code}); сообщение этого шага — выше.",
    "Fix what it says, or run `gemma-kit doctor` to check this computer.":
        "Исправьте то, что в нём сказано, или запустите `gemma-kit doctor`, чтобы проверить компьютер.",
    "Demo finished in {seconds:.0f} s. The GGUF is at {gguf}": "Демо закончено за {seconds:.0f} с. Файл GGUF: {gguf}",
    "The before/after report is at {report}; the GGUF self-check verdict is printed above.":
        "Отчёт «до и после»: {report}; итог самопроверки GGUF напечатан выше.",
    "Next: put your own chat exports into dataset/ and run prepare_dataset.bat":
        "Дальше: положите свои выгрузки чатов в dataset/ и запустите prepare_dataset.bat",

    # ---- steps/download_model.py
    "Access to {repo} is not granted yet: the Gemma licence has not been accepted with this account.":
        "Доступа к {repo} пока нет: с этой учётной записи не принята лицензия Gemma.",
    "Open {page}, sign in with the account of your token, press \"Acknowledge license\", wait for the approval "
    "e-mail (usually instant), then run again.":
        "Откройте {page}, войдите под учётной записью, к которой относится токен, нажмите «Acknowledge "
        "license», дождитесь письма с подтверждением (обычно сразу) и запустите снова.",
    "The model {repo} was not found on Hugging Face (HTTP {status}).":
        "Модель {repo} не найдена на Hugging Face (HTTP {status}).",
    "Check the `model` setting (E2B or E4B) and your internet connection; if you use a token, make sure it is "
    "valid.":
        "Проверьте настройку `model` (E2B или E4B) и подключение к интернету; если вы используете токен, "
        "убедитесь, что он действителен.",
    "Hugging Face refused access to {repo} (HTTP 403).": "Hugging Face отказал в доступе к {repo} (HTTP 403).",
    "Accept the licence on {page} with the account of your token, and make sure the token has the \"Read\" "
    "permission, then run again.":
        "Примите лицензию на {page} под учётной записью токена, убедитесь, что у токена есть право «Read», и "
        "запустите снова.",
    "Hugging Face answered with an error (HTTP {status}): {error}":
        "Hugging Face ответил ошибкой (HTTP {status}): {error}",
    "Try again in a few minutes; if it persists, check https://status.huggingface.co":
        "Попробуйте снова через несколько минут; если ошибка не уходит, загляните на https://status.huggingface.co",
    "The disk became full during the download.": "Во время скачивания закончилось место на диске.",
    "Free some space (the model needs about 15 GB for E4B, 11 GB for E2B) and run again: the download continues "
    "where it stopped.":
        "Освободите место (модели нужно около 15 ГБ для E4B и 11 ГБ для E2B) и запустите снова: скачивание "
        "продолжится с того места, где остановилось.",
    "Could not reach Hugging Face: there seems to be no internet connection.":
        "Не удалось связаться с Hugging Face: похоже, нет подключения к интернету.",
    "Check the connection (and proxy or firewall), then run again: the download resumes.":
        "Проверьте подключение (а также прокси и брандмауэр) и запустите снова: скачивание продолжится.",
    "Hugging Face did not accept your access token (HTTP 401): it is wrong, expired or revoked.":
        "Hugging Face не принял ваш токен доступа (HTTP 401): он неверный, просрочен или отозван.",
    "Create a new \"Read\" token at https://huggingface.co/settings/tokens and run again (or set the HF_TOKEN "
    "environment variable to it).":
        "Создайте новый токен типа «Read» на https://huggingface.co/settings/tokens и запустите снова (или "
        "запишите его в переменную среды HF_TOKEN).",
    "To download Gemma you need a free Hugging Face access token (one time):\n"
    "  1. Sign in (or sign up) at https://huggingface.co\n"
    "  2. Open {page} and press \"Acknowledge license\" / \"Agree and access repository\".\n"
    "  3. Open https://huggingface.co/settings/tokens, press \"Create new token\", type \"Read\", copy the token.":
        "Чтобы скачать Gemma, нужен бесплатный токен доступа Hugging Face (это делается один раз):\n"
        "  1. Войдите (или зарегистрируйтесь) на https://huggingface.co\n"
        "  2. Откройте {page} и нажмите «Acknowledge license» / «Agree and access repository» (так вы "
        "принимаете лицензию Google).\n"
        "  3. Откройте https://huggingface.co/settings/tokens, нажмите «Create new token», выберите тип "
        "«Read» и скопируйте токен.",
    "No Hugging Face token is set, and there is no terminal to ask for one.":
        "Токен Hugging Face не задан, а спросить его негде: нет терминала.",
    "Set the HF_TOKEN environment variable to your token, or run download_model.bat by double-click and paste it "
    "when asked.":
        "Запишите токен в переменную среды HF_TOKEN или запустите download_model.bat двойным щелчком и вставьте "
        "токен, когда программа его попросит.",
    "Paste your token here (it stays hidden): ": "Вставьте токен (он не отображается): ",
    "No token was entered.": "Токен не введён.",
    "Run download_model.bat again and paste the token.": "Запустите download_model.bat ещё раз и вставьте токен.",
    "Which Gemma 3n? e4b = better, ~15 GB; e2b = lighter, ~11 GB":
        "Какую Gemma 3n скачать? e4b — лучше, ~15 ГБ; e2b — легче, ~11 ГБ",
    "Saved your choice in {file}: {line}": "Ваш выбор сохранён в {file}: {line}",
    "{folder} is not a complete Gemma 3n checkpoint:": "В папке {folder} неполная модель Gemma 3n:",
    "Copy the whole model folder (config.json, tokenizer.model, all .safetensors files and the index) or download "
    "it with download_model.bat.":
        "Скопируйте папку модели целиком (config.json, tokenizer.model, все файлы .safetensors и индекс) или "
        "скачайте её через download_model.bat.",
    "The model at {folder} is complete.": "Модель в {folder} полная.",
    "the {repo} download": "скачивания {repo}",
    "Downloading {repo} into {dest} (the download resumes if interrupted) ...":
        "Скачиваем {repo} в {dest} (если скачивание прервётся, оно продолжится) ...",
    "To use it in every step, set in settings.toml:  model_path = \"{path}\"":
        "Чтобы все шаги брали эту модель, укажите в settings.toml:  model_path = \"{path}\"",
    "The model is already complete at {dest}; nothing to download.": "Модель в {dest} уже полная; скачивать нечего.",
    "The download finished but the model at {dest} is incomplete:":
        "Скачивание закончилось, но модель в {dest} неполная:",
    "Run download_model.bat again: it fetches only what is missing.":
        "Запустите download_model.bat ещё раз: он скачает только недостающее.",
    "Model ready at {dest}": "Модель готова: {dest}",
}
