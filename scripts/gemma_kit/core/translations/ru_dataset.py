"""Russian: the dataset part (readers, skip reasons, prepare-dataset, its summary, voice messages and their
transcription). The dataset report's JSON keeps the English words (programs read it); only the console speaks
Russian."""

MESSAGES = {
    # ---- prepare-dataset: finding the files, the mode ----
    "The dataset folder {folder} does not exist.": "Папки с набором данных {folder} нет.",
    "Create it and put your chat exports into it: {shapes}": "Создайте её и положите в неё выгрузки чатов: {shapes}",
    "There are no .json or .jsonl files in {folder} (nor in its sub-folders).":
        "В папке {folder} (и во вложенных папках) нет файлов .json или .jsonl.",
    "Put your chat exports into {folder}/: {shapes}": "Положите выгрузки чатов в папку {folder}/: {shapes}",
    "Telegram Desktop exported HTML: export again with Settings > Advanced > Export Telegram data (or a chat's menu > "
    "Export chat history), format 'Machine-readable JSON'. {hint}":
        "Telegram Desktop выгрузил HTML: выгрузите заново через Настройки > Продвинутые настройки > Экспорт данных из "
        "Telegram (или меню чата > Экспорт истории чата), формат «Машиночитаемый JSON». {hint}",
    "The JSON reader runs without its C extension (ijson backend '{backend}'), so large exports read about 10x slower. "
    "To fix it: pip install --force-reinstall ijson":
        "Модуль чтения JSON работает без расширения на C (бэкенд ijson: '{backend}'), поэтому большие выгрузки "
        "читаются примерно в 10 раз медленнее. Чтобы это исправить: pip install --force-reinstall ijson",
    "Mode: {mode} (from --mode).": "Режим: {mode} (задан через --mode).",
    "Mode: {mode} (from the data_mode setting).": "Режим: {mode} (из настройки data_mode).",
    "Which examples? instruct = each message with its reply; conversational = replies with up to {window} earlier "
    "messages as context":
        "Какие примеры собрать? instruct — каждое сообщение с ответом на него; conversational — ответы вместе с "
        "предыдущими сообщениями (до {window}) как контекстом",
    "window_size {window_size} -> {window}: an example starts with a message and ends with its reply.":
        "window_size {window_size} -> {window}: пример начинается с сообщения и заканчивается ответом на него.",
    # ---- prepare-dataset: checks that end the step ----
    "No usable conversations in {n} file(s): {skips}.": (
        "В {n} файле нет подходящих диалогов: {skips}.",
        "В {n} файлах нет подходящих диалогов: {skips}.",
        "В {n} файлах нет подходящих диалогов: {skips}.",
    ),
    "A conversation needs a message and a reply from the other side. For Telegram, check telegram_owner (your name or "
    "user id) and include_group_chats in settings.toml.":
        "Для диалога нужны сообщение и ответ другой стороны. Для Telegram проверьте в settings.toml настройки "
        "telegram_owner (ваше имя или id пользователя) и include_group_chats.",
    "Only 1 conversation with a single exchange is usable; at least 2 exchanges are needed: one to train on and one "
    "kept aside to check that training works.":
        "Подходит только 1 диалог с одной парой «сообщение — ответ», а нужно хотя бы 2 такие пары: одна для обучения и "
        "одна отложенная, чтобы проверить, что обучение работает.",
    "Add more chats to the dataset folder (more conversations also make a better model).":
        "Добавьте в папку dataset больше чатов (чем больше диалогов, тем лучше получится модель).",
    "None of the {n} files can be used:\n  {listed}": "Ни один из файлов ({n}) не подходит:\n  {listed}",
    "Open the file at that line and fix it, or export it again (a file cut short by a full disk or an interrupted copy "
    "looks like this).":
        "Откройте файл на этой строке и исправьте его или выгрузите заново (так выглядит файл, обрезанный из-за "
        "переполненного диска или прерванного копирования).",
    "Expected one of: {shapes} Export your chats in one of these, or move the file out.":
        "Ожидается одно из: {shapes} Выгрузите чаты в одном из этих форматов или уберите файл из папки.",
    "Save the file again as UTF-8 JSON, or export it again.":
        "Сохраните файл заново как JSON в кодировке UTF-8 или выгрузите его ещё раз.",
    "{count:,} {unit} skipped: {reason}": "пропущено: {count:,} {unit} ({reason})",
    "no messages found": "сообщений не найдено",
    "Every example kept aside for evaluation is also in the training data (duplicates), so nothing is left to check "
    "the training with.":
        "Все примеры, отложенные для проверки, есть и среди примеров для обучения (повторы), поэтому проверять "
        "обучение нечем.",
    "Add more (different) conversations to the dataset folder.": "Добавьте в папку dataset больше диалогов (разных).",
    "Could not load {file} ({error}); token counts are a rough estimate.":
        "Не удалось загрузить {file} ({error}); число токенов посчитано приблизительно.",
    "characters / {ratio:.1f}, no {file} yet": "число символов / {ratio:.1f}, файла {file} ещё нет",
    "measured with the model's tokenizer on {n_chars:,} characters of the data":
        "измерено токенизатором модели на {n_chars:,} символах данных",
    # ---- the summary printed at the end ----
    "Read {n} file(s): {formats}.": (
        "Прочитан {n} файл: {formats}.",
        "Прочитано {n} файла: {formats}.",
        "Прочитано {n} файлов: {formats}.",
    ),
    "Kept {kept:,} of {read:,} messages, in {dialogs:,} dialogs (training {train:,}, evaluation {eval:,}).":
        "Оставлено сообщений: {kept:,} из {read:,}; диалогов: {dialogs:,} (для обучения {train:,}, для проверки "
        "{eval:,}).",
    "Message length in characters: median {median:,}, 90% up to {p90:,}, longest {longest:,}.":
        "Длина сообщений в символах: медиана {median:,}, у 90% — до {p90:,}, самое длинное — {longest:,}.",
    "Tokens ({method}): {train:,} training, {eval:,} evaluation; per example median {median:,}, longest {longest:,}.":
        "Токены ({method}): {train:,} для обучения, {eval:,} для проверки; на пример — медиана {median:,}, самый "
        "длинный — {longest:,}.",
    "Skipped:": "Пропущено:",
    "Nothing was skipped.": "Ничего не пропущено.",
    "The full list, with where each reason happened, is in {path}.":
        "Полный список (и где встретилась каждая причина) — в файле {path}.",
    "Replaced the previous {train} and {eval}.": "Прежние {train} и {eval} заменены.",
    "Wrote {train} ({train_examples:,} examples, {mode} mode) and {eval} ({eval_examples:,} examples).":
        "Записаны {train} (примеров: {train_examples:,}, режим {mode}) и {eval} (примеров: {eval_examples:,}).",
    "Only {n} training examples: enough to test the pipeline, but too few to change the model's style (aim for {aim}+; "
    "more chats help).":
        "Примеров для обучения всего {n}: этого хватит, чтобы проверить, что всё работает, но мало, чтобы изменить "
        "стиль модели (желательно от {aim}; добавьте больше чатов).",
    "{too_long:,} examples are longer than max_seq_length = {max_seq_length} tokens and will be cut during training "
    "(raise max_seq_length, or use a smaller window_size).":
        "Примеров длиннее max_seq_length = {max_seq_length} токенов: {too_long:,}; при обучении они будут обрезаны "
        "(увеличьте max_seq_length или уменьшите window_size).",
    # The unit column of the skip list: the form that goes with the count.
    "files": (
        "файл",
        "файла",
        "файлов",
    ),
    "chats": (
        "чат",
        "чата",
        "чатов",
    ),
    "conversations": (
        "диалог",
        "диалога",
        "диалогов",
    ),
    "records": (
        "запись",
        "записи",
        "записей",
    ),
    "lines": (
        "строка",
        "строки",
        "строк",
    ),
    "messages": (
        "сообщение",
        "сообщения",
        "сообщений",
    ),
    "parts": (
        "часть",
        "части",
        "частей",
    ),
    "examples": (
        "пример",
        "примера",
        "примеров",
    ),
    # ---- formats ----
    "Telegram Desktop export result.json (Export chat history, format JSON); ChatGPT or Claude.ai data export "
    "conversations.json; ShareGPT ({{\"conversations\": [{{\"from\", \"value\"}}]}}); OpenAI chat ({{\"messages\": "
    "[{{\"role\", \"content\"}}]}}); Alpaca ({{\"instruction\", \"output\"}}); a list of {{\"sender\", \"userInput\" / "
    "\"claudeOutputText\"}} messages. Each as .json or .jsonl.":
        "выгрузка Telegram Desktop result.json (Экспорт истории чата, формат JSON); выгрузка данных ChatGPT или "
        "Claude.ai conversations.json; ShareGPT ({{\"conversations\": [{{\"from\", \"value\"}}]}}); чат OpenAI "
        "({{\"messages\": [{{\"role\", \"content\"}}]}}); Alpaca ({{\"instruction\", \"output\"}}); список сообщений "
        "{{\"sender\", \"userInput\" / \"claudeOutputText\"}}. Каждый — в виде .json или .jsonl.",
    "Telegram Desktop export (one chat)": "выгрузка Telegram Desktop (один чат)",
    "Telegram Desktop export (full account)": "выгрузка Telegram Desktop (весь аккаунт)",
    "ChatGPT data export": "выгрузка данных ChatGPT",
    "Claude.ai data export": "выгрузка данных Claude.ai",
    "ShareGPT conversations": "диалоги ShareGPT",
    "OpenAI chat messages": "сообщения чата OpenAI",
    "Alpaca instruction pairs": "пары «инструкция — ответ» Alpaca",
    "sender/userInput message list": "список сообщений sender/userInput",
    "Reading exports": "Чтение выгрузок",
    "Formats this step reads: {shapes}": "Форматы, которые читает этот шаг: {shapes}",
    # ---- a file that cannot be used ----
    "{path}: {problem}. Skipped this file.": "{path}: {problem}. Этот файл пропущен.",
    "not a chat export this step knows (first keys seen: {keys})":
        "это не выгрузка чата в формате, который знает этот шаг (первые ключи в файле: {keys})",
    "no keys": "ключей нет",
    "a list without objects": "список без объектов",
    "a single {json_type}, not an object or a list": "одно значение типа {json_type}, а не объект или список",
    "the file is empty": "файл пустой",
    "invalid JSON at {where}: {reason}": "ошибка в JSON ({where}): {reason}",
    "line {line}, column {column}": "строка {line}, столбец {column}",
    "around line {line}": "около строки {line}",
    "somewhere": "место не определено",
    "could not be read ({reason})": "не удалось прочитать ({reason})",
    "has a shape this step did not expect ({error}; --debug shows where)":
        "устроен не так, как ожидает этот шаг ({error}; где именно — покажет --debug)",
    "the JSON is nested more than {limit} levels deep, which no chat export does (a damaged or generated file)":
        "вложенность JSON больше {limit} уровней, чего не бывает ни в одной выгрузке чата (файл повреждён или создан "
        "программой)",
    "the file is saved as UTF-16 text; JSON exports must be UTF-8 (PowerShell's `>` does this: save it again as UTF-8)":
        "файл сохранён в кодировке UTF-16, а выгрузки JSON должны быть в UTF-8 (так делает `>` в PowerShell: сохраните "
        "файл заново в UTF-8)",
    "the file is not saved as UTF-8 text (an old Windows encoding such as cp1251?); open it in Notepad and save it "
    "with the UTF-8 encoding":
        "файл сохранён не в кодировке UTF-8 (старая кодировка Windows, например cp1251?); откройте его в Блокноте и "
        "сохраните в кодировке UTF-8",
    "unrecognised file": "нераспознанный файл",
    "file with invalid JSON": "файл с ошибкой в JSON",
    "unreadable file": "нечитаемый файл",
    "file that is not .json or .jsonl (photos, media...)": "файл не .json и не .jsonl (фото, медиа...)",
    # ---- skip reasons ----
    "empty message": "пустое сообщение",
    "system message in the middle of a conversation": "системное сообщение посреди диалога",
    "message from an unknown role (tool, function...)": "сообщение с неизвестной ролью (tool, function...)",
    "record in an unknown shape": "запись в незнакомом формате",
    "image, audio or file part of a message": "часть сообщения с картинкой, аудио или файлом",
    "invalid JSON line": "строка с ошибкой в JSON",
    "line that is not UTF-8 text": "строка не в кодировке UTF-8",
    "line nested too deeply to be a chat record": "строка со слишком глубокой вложенностью для записи чата",
    "item in an unexpected shape (a damaged or hand-edited export)":
        "элемент неожиданного вида (выгрузка повреждена или правилась вручную)",
    "exact duplicate example": "точный повтор примера",
    "message only in duplicate examples (the same text was already written)":
        "сообщение, которое есть только в повторяющихся примерах (такой текст уже записан)",
    "assistant message opening a dialog (nothing to answer)": "ответ в начале диалога (отвечать не на что)",
    "last message of a dialog got no reply": "последнее сообщение диалога осталось без ответа",
    "message longer than max_message_length": "сообщение длиннее max_message_length",
    "dialog with fewer turns than min_dialog_messages": "в диалоге меньше реплик, чем min_dialog_messages",
    "system prompt without a dialog after it": "системный промпт без диалога после него",
    "dialog identical to an earlier one (two copies of one export?)":
        "диалог совпадает с одним из предыдущих (две копии одной выгрузки?)",
    "Only one dialog was found, so its last {n_eval} exchange(s) of {n_exchanges} are kept aside to check the training "
    "(no training example contains them). More chats give a better check.":
        "Найден только один диалог, поэтому его последние пары «сообщение — ответ» ({n_eval} из {n_exchanges}) "
        "отложены для проверки обучения (ни один пример для обучения их не содержит). С большим числом чатов проверка "
        "точнее.",
    "message without userInput / ...OutputText text": "сообщение без текста userInput / ...OutputText",
    "assistant tool call without text": "вызов инструмента ассистентом без текста",
    "Alpaca record with an empty output": "запись Alpaca с пустым output",
    "Alpaca history entry that is not a [question, answer] pair": "элемент history в Alpaca — не пара [вопрос, ответ]",
    "ChatGPT message on an abandoned branch (edited or regenerated)":
        "сообщение ChatGPT из заброшенной ветки (отредактировано или сгенерировано заново)",
    "ChatGPT system message (hidden in the app)": "системное сообщение ChatGPT (скрыто в приложении)",
    "ChatGPT tool message (browsing, code, images...)": "сообщение инструмента ChatGPT (поиск, код, картинки...)",
    "ChatGPT assistant message addressed to a tool": "сообщение ассистента ChatGPT, адресованное инструменту",
    "ChatGPT hidden message": "скрытое сообщение ChatGPT",
    "ChatGPT message that is not chat text (code, reasoning, browsing...)":
        "сообщение ChatGPT, не являющееся текстом чата (код, рассуждения, поиск...)",
    "Claude message from an unknown sender": "сообщение Claude от неизвестного отправителя",
    "Claude thinking block (not part of the reply)": "блок размышлений Claude (не часть ответа)",
    "Claude tool use or tool result block": "блок вызова инструмента или его результата в Claude",
    "Claude content block that is not text (image, document...)":
        "блок Claude, который не является текстом (картинка, документ...)",
    "Claude attachment or file (only the chat text is used)":
        "вложение или файл в Claude (используется только текст чата)",
    "Claude message on an abandoned branch (retried or edited)":
        "сообщение Claude из заброшенной ветки (повторено или отредактировано)",
    # ---- Telegram ----
    "Telegram group chat (include_group_chats = false)": "групповой чат Telegram (include_group_chats = false)",
    "Telegram Saved Messages (notes to yourself)": "«Избранное» в Telegram (заметки для себя)",
    "Telegram channel": "канал Telegram",
    "Telegram chat with a bot": "чат Telegram с ботом",
    "Telegram chat of another type": "чат Telegram другого типа",
    "Telegram service message (joined, pinned, call...)":
        "служебное сообщение Telegram (вступление в чат, закрепление, звонок...)",
    "voice, video, photo, sticker or file without text": "голосовое, видео, фото, стикер или файл без текста",
    "forwarded message (written by someone else)": "пересланное сообщение (написано не вами)",
    "Telegram chat you left (read only when include_group_chats = true)":
        "чат Telegram, из которого вы вышли (читается только при include_group_chats = true)",
    "Telegram owner (your side, the assistant) in {label}: {owner}":
        "Владелец выгрузки Telegram (ваша сторона, ассистент) в {label}: {owner}",
    "{who} — {why}": "{who} — {why}",
    "nobody": "никто",
    "from the telegram_owner setting": "из настройки telegram_owner",
    "the account owner of this full export (personal_information.user_id)":
        "владелец аккаунта в этой полной выгрузке (personal_information.user_id)",
    "the sender who is not the chat partner {name} ({peer}) in this one-chat export":
        "отправитель, отличный от собеседника {name} ({peer}), в этой выгрузке одного чата",
    "no sender found": "отправители не найдены",
    "a guess: the most frequent sender ({n:,} of {total:,} messages); set telegram_owner in settings.toml if this is "
    "not you":
        "предположение: самый частый отправитель ({n:,} из {total:,} сообщений); если это не вы, укажите "
        "telegram_owner в settings.toml",
    "telegram_owner = {setting} matched no sender in {label}, so none of its messages became assistant replies.":
        "telegram_owner = {setting} не совпал ни с одним отправителем в {label}, поэтому ни одно сообщение оттуда не "
        "стало ответом ассистента.",
    "{label}: {n_chats} chat(s) in 'left_chats' (groups and channels you left) are read only when include_group_chats "
    "= true.":
        "{label}: чаты из 'left_chats' (группы и каналы, из которых вы вышли; всего: {n_chats}) читаются только при "
        "include_group_chats = true.",
    # ---- voice messages ----
    "voice message without its audio file (export without 'Voice messages' ticked)":
        "голосовое сообщение без аудиофайла (при выгрузке не отмечены «Голосовые сообщения»)",
    "voice message not transcribed (transcribe_voice setting)":
        "голосовое сообщение не расшифровано (настройка transcribe_voice)",
    "voice message not transcribed yet (transcribe-voice did not finish)":
        "голосовое сообщение ещё не расшифровано (transcribe-voice не завершился)",
    "voice message whose transcript was empty or looked made up":
        "голосовое сообщение, расшифровка которого пустая или похожа на выдуманную",
    "voice or round video message whose audio could not be decoded":
        "голосовое сообщение или видеокружок, звук которого не удалось декодировать",
    "Voice messages: {found:,} found ({minutes:,.1f} min of audio), {with_files:,} with their audio file":
        "Голосовые сообщения: найдено {found:,} ({minutes:,.1f} мин аудио), с аудиофайлом — {with_files:,}",
    ", {transcribed:,} transcribed and used as text": ", расшифровано и использовано как текст — {transcribed:,}",
    " {missing:,} have no audio file: export again in Telegram Desktop with 'Voice messages' ticked to add them (about "
    "{minutes:,.1f} min).":
        " Без аудиофайла — {missing:,}: чтобы добавить их, выгрузите чат в Telegram Desktop заново, отметив «Голосовые "
        "сообщения» (примерно {minutes:,.1f} мин).",
    " Set transcribe_voice = \"mine\" (or \"all\") in settings.toml to turn them into text.":
        " Чтобы превратить их в текст, укажите transcribe_voice = \"mine\" (или \"all\") в settings.toml.",
    "The export has {n:,} voice messages with audio ({minutes:,.1f} min, {mine:,.1f} min of them yours). Turn them "
    "into text with the model? mine = only yours (they become your replies; {mine_time}), all = the other side's too "
    "({all_time}), no = leave them out (transcribe_voice in settings.toml fixes the answer)":
        "В выгрузке есть голосовые сообщения с аудио: {n:,} ({minutes:,.1f} мин, из них ваших — {mine:,.1f} мин). "
        "Расшифровать их моделью в текст? mine — только ваши (они станут вашими ответами; {mine_time}), all — и "
        "собеседника тоже ({all_time}), no — не использовать (настройка transcribe_voice в settings.toml задаёт "
        "ответ заранее)",
    "Reading the exports again with the voice transcripts.": "Выгрузки читаются заново, уже с расшифровками голосовых.",
    # ---- transcription ----
    "All {n:,} voice messages to transcribe are already in {cache}; the model is not loaded.": (
        "{n:,} голосовое сообщение для расшифровки уже есть в {cache}; модель не загружается.",
        "Все {n:,} голосовых сообщения для расшифровки уже есть в {cache}; модель не загружается.",
        "Все {n:,} голосовых сообщений для расшифровки уже есть в {cache}; модель не загружается.",
    ),
    "{n:,} voice messages are already transcribed ({cache}); {left:,} to go.": (
        "{n:,} голосовое сообщение уже расшифровано ({cache}); осталось: {left:,}.",
        "{n:,} голосовых сообщения уже расшифрованы ({cache}); осталось: {left:,}.",
        "{n:,} голосовых сообщений уже расшифровано ({cache}); осталось: {left:,}.",
    ),
    "The transcribe_voice setting is \"no\", so there is nothing to transcribe.":
        "Настройка transcribe_voice равна \"no\", поэтому расшифровывать нечего.",
    "Set transcribe_voice = \"mine\" (your voice messages) or \"all\" in settings.toml, or run gemma-kit "
    "transcribe-voice --set transcribe_voice=mine":
        "Укажите transcribe_voice = \"mine\" (ваши голосовые сообщения) или \"all\" в settings.toml либо запустите "
        "gemma-kit transcribe-voice --set transcribe_voice=mine",
    "There is no list of voice messages yet ({file} in {folder}).":
        "Списка голосовых сообщений ещё нет ({file} в папке {folder}).",
    "Run prepare_dataset.bat first: it finds the voice messages in your Telegram export.":
        "Сначала запустите prepare_dataset.bat: он найдёт голосовые сообщения в вашей выгрузке Telegram.",
    "{file} is damaged ({error}).": "Файл {file} повреждён ({error}).",
    "Run prepare_dataset.bat again; it writes it anew.":
        "Запустите prepare_dataset.bat ещё раз: он запишет его заново.",
    "{n:,} voice messages' audio files are gone since prepare-dataset listed them (first: {first}); they are left "
    "out.": (
        "Аудиофайл {n:,} голосового сообщения пропал после того, как prepare-dataset составил список (первый: "
        "{first}); это сообщение не используется.",
        "Аудиофайлы {n:,} голосовых сообщений пропали после того, как prepare-dataset составил список (первый: "
        "{first}); эти сообщения не используются.",
        "Аудиофайлы {n:,} голосовых сообщений пропали после того, как prepare-dataset составил список (первый: "
        "{first}); эти сообщения не используются.",
    ),
    "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on the GPU {gpu}; loading the model {model}.": (
        "Расшифровка {n:,} голосового сообщения ({minutes:,.1f} мин аудио) на видеокарте {gpu}; загружается модель "
        "{model}.",
        "Расшифровка {n:,} голосовых сообщений ({minutes:,.1f} мин аудио) на видеокарте {gpu}; загружается модель "
        "{model}.",
        "Расшифровка {n:,} голосовых сообщений ({minutes:,.1f} мин аудио) на видеокарте {gpu}; загружается модель "
        "{model}.",
    ),
    "Transcribing {n:,} voice messages ({minutes:,.1f} min of audio) on the CPU; loading the model {model}.": (
        "Расшифровка {n:,} голосового сообщения ({minutes:,.1f} мин аудио) на процессоре; загружается модель {model}.",
        "Расшифровка {n:,} голосовых сообщений ({minutes:,.1f} мин аудио) на процессоре; загружается модель {model}.",
        "Расшифровка {n:,} голосовых сообщений ({minutes:,.1f} мин аудио) на процессоре; загружается модель {model}.",
    ),
    # Inside training/device.py's out-of-memory message: "Не хватило видеопамяти ({doing})", "... или {lighter}".
    "loading the model for transcription": "загрузка модели для расшифровки",
    "transcribing voice messages": "расшифровка голосовых сообщений",
    "use --batch-size {n}": "укажите --batch-size {n}",
    "use the E2B model (model = \"E2B\")": "возьмите модель E2B (model = \"E2B\")",
    "Stopped: the transcripts done so far are kept in {cache}; run again to continue.":
        "Остановлено: готовые расшифровки сохранены в {cache}; запустите ещё раз, чтобы продолжить.",
    "Transcribed {minutes:,.1f} min of audio in {spent:,.0f} s ({speed:,.1f} s of audio per second, model loading "
    "included).":
        "Расшифровано {minutes:,.1f} мин аудио за {spent:,.0f} с ({speed:,.1f} с аудио в секунду, вместе с загрузкой "
        "модели).",
    "Transcripts kept: {kept:,}.": "Оставлено расшифровок: {kept:,}.",
    "Left out: {empty:,} empty and {made_up:,} that looked made up (repeated words, or far more text than the "
    "recording can hold); they are counted in the dataset report.":
        "Не использованы: пустые — {empty:,}, похожие на выдуманные — {made_up:,} (повторяющиеся слова или гораздо "
        "больше текста, чем помещается в запись); они учтены в отчёте о наборе данных.",
    "{n:,} audio files could not be decoded (round videos are MP4, which needs ffmpeg, and the kit does not install "
    "it); they are counted as skipped.": (
        "{n:,} аудиофайл не удалось декодировать (видеокружки — это MP4, для него нужен ffmpeg, а набор его не "
        "устанавливает); он учтён как пропущенный.",
        "{n:,} аудиофайла не удалось декодировать (видеокружки — это MP4, для него нужен ffmpeg, а набор его не "
        "устанавливает); они учтены как пропущенные.",
        "{n:,} аудиофайлов не удалось декодировать (видеокружки — это MP4, для него нужен ffmpeg, а набор его не "
        "устанавливает); они учтены как пропущенные.",
    ),
    "The model is not in {folder} yet, and transcribing voice messages needs it.":
        "В папке {folder} ещё нет модели, а она нужна для расшифровки голосовых сообщений.",
    "Run download_model.bat first (or set transcribe_voice = \"no\" to leave voice messages out for now).":
        "Сначала запустите download_model.bat (или укажите transcribe_voice = \"no\", чтобы пока не использовать "
        "голосовые сообщения).",
    "{folder} has no preprocessor_config.json, the settings of the model's audio input.":
        "В папке {folder} нет preprocessor_config.json — настроек аудиовхода модели.",
    "Run download_model.bat again: it completes the download.":
        "Запустите download_model.bat ещё раз: он докачает недостающее.",
    "Transcribing": "Расшифровка",
    " s of audio": " с аудио",
}
