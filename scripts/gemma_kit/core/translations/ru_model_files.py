"""Russian: the model files' part of the kit — merging the adapter (merge-lora), the hand-off to LM Studio
(install-lmstudio) and the demo. The GGUF conversion and its self-check are in ru_model_files_gguf.py."""

MESSAGES = {
    # ---- merge-lora: the step ----
    "merge-lora: adding a LoRA adapter into the base model. Settings:":
        "merge-lora: объединение LoRA-адаптера с исходной моделью. Настройки:",
    "the merged model": "объединённой модели",
    "{folder} exists already: it will be replaced by this merge (the old one is kept until the new one is complete).":
        "{folder} уже есть: эта папка будет заменена результатом объединения (старая сохраняется, пока новая не "
        "будет готова целиком).",
    "Adding {pairs} LoRA weight pairs ({ranks_and_scales}) into {tensors} tensors in {shards} shard(s).":
        "Добавление пар весов LoRA в модель: {pairs} ({ranks_and_scales}); тензоров в модели: {tensors}, "
        "частей (shards): {shards}.",
    "rank {values}": ("ранг {values}", "ранги {values}", "ранги {values}"),
    "scale {values}": ("масштаб {values}", "масштабы {values}", "масштабы {values}"),
    "Permission denied for {path} (is it open in another program?).":
        "Нет доступа к {path} (папка или файл открыты в другой программе?).",
    "Close programs and Explorer windows using that folder, or choose another --out folder, then run merge_lora.bat "
    "again.":
        "Закройте программы и окна Проводника, в которых открыта эта папка, или укажите другую папку в --out, "
        "затем снова запустите merge_lora.bat.",
    "--{option} {value} and --{common} {common_value} name different folders.":
        "--{option} {value} и --{common} {common_value} указывают на разные папки.",
    "Give only one of --{option} and --{common}.": "Укажите только один из параметров: --{option} или --{common}.",
    "Run finetune_gemma.bat first (it saves the adapter there), or point --adapter to an adapter folder.":
        "Сначала запустите finetune_gemma.bat (он сохраняет адаптер туда) или укажите папку адаптера в --adapter.",
    "Run finetune_gemma.bat to finish training, or merge a saved checkpoint: --adapter {checkpoint}":
        "Запустите finetune_gemma.bat, чтобы завершить обучение, или объедините сохранённую контрольную точку: "
        "--adapter {checkpoint}",
    "There is no LoRA adapter at {folder}.": "В {folder} нет LoRA-адаптера.",
    'The adapter was trained on {trained_on}: pass --base "{trained_on}".':
        'Адаптер обучался на {trained_on}: укажите --base "{trained_on}".',
    "Run download_model.bat first, or point --base to the Gemma 3n folder the adapter was trained on.":
        "Сначала запустите download_model.bat или укажите в --base папку Gemma 3n, на которой обучался адаптер.",
    "There is no base model at {folder}.": "В {folder} нет исходной модели.",
    "{path} is damaged (invalid JSON at line {line}).": "Файл {path} повреждён (ошибка JSON в строке {line}).",
    "Delete {record} from the adapter folder to merge without the check, or train again with finetune_gemma.bat.":
        "Удалите {record} из папки адаптера, чтобы объединить без этой проверки, или обучите заново с помощью "
        "finetune_gemma.bat.",
    "{adapter} has no {record}, so nothing says which model it was trained on; merging into {base} anyway (names and "
    "shapes are still checked).":
        "В {adapter} нет {record}, поэтому неизвестно, на какой модели обучался адаптер; объединение с {base} "
        "всё равно выполняется (имена и размеры тензоров проверяются).",
    "The base model is the one the adapter was trained on.": "Исходная модель — та самая, на которой обучался адаптер.",
    "The adapter in {adapter} was trained on a different base model than {base} ({differences}).":
        "Адаптер из {adapter} обучался на другой исходной модели, не на {base} ({differences}).",
    'Merge it into the model it was trained on (--base "{trained_on}"), or train a new adapter on this model with '
    "finetune_gemma.bat.":
        'Объедините его с моделью, на которой он обучался (--base "{trained_on}"), или обучите новый адаптер на '
        "этой модели с помощью finetune_gemma.bat.",
    "same model settings, but different weight files": "настройки модели те же, но файлы весов другие",
    "{key} {trained} at training, {here} here": "{key}: {trained} при обучении, {here} здесь",
    "; and {count} more": "; и ещё {count}",
    "its settings differ: {shown}{more}": "настройки различаются: {shown}{more}",
    "The output folder {out} overlaps the base model folder {folder}; writing there would destroy it.":
        "Папка результата {out} пересекается с папкой исходной модели {folder}; запись туда уничтожила бы модель.",
    "The output folder {out} overlaps the adapter folder {folder}; writing there would destroy it.":
        "Папка результата {out} пересекается с папкой адаптера {folder}; запись туда уничтожила бы адаптер.",
    "Choose another --out folder (the default is output/merged_model).":
        "Укажите другую папку в --out (по умолчанию — output/merged_model).",
    "{folder} exists and is not a merged model written by merge-lora, so it is not replaced.":
        "{folder} уже есть, и это не объединённая модель от merge-lora, поэтому папка не будет заменена.",
    "Choose another --out folder, or move that folder away and run merge_lora.bat again.":
        "Укажите другую папку в --out или переместите эту папку и снова запустите merge_lora.bat.",
    "copied unchanged": "скопированы без изменений",
    "otherwise unchanged, stored as {dtype}": "без других изменений, сохранены в {dtype}",
    "Replaced the previous merged model in {folder}.": "Прежняя объединённая модель в {folder} заменена.",
    "Wrote {folder} ({size}): {total} tensors in {shards} shard(s); {changed} changed by the adapter, "
    "{others} {kept}.":
        "Записано: {folder} ({size}); тензоров: {total}, частей (shards): {shards}; изменено адаптером: {changed}, "
        "остальные ({others}) {kept}.",
    "Left out {count} .safetensors file(s) of the base folder that are not part of the checkpoint: {names}":
        "Пропущены файлы .safetensors в папке исходной модели, которые не относятся к самой модели (всего {count}): {names}",

    # ---- merge-lora: reading the adapter, the arithmetic, the shards ----
    "Train a plain LoRA adapter (finetune_gemma.bat does), then run merge_lora.bat again.":
        "Обучите обычный LoRA-адаптер (его создаёт finetune_gemma.bat) и снова запустите merge_lora.bat.",
    "DoRA (weight-decomposed LoRA)": "DoRA (LoRA с разложением весов)",
    "Activated LoRA (aLoRA), which peft itself cannot merge": "Activated LoRA (aLoRA), который не умеет объединять "
                                                              "даже сам peft",
    "block-diagonal LoRA": "блочно-диагональный LoRA",
    "Arrow routing": "маршрутизацию Arrow",
    "a trained LoRA bias": "обученное смещение (bias) LoRA",
    "transposed (fan_in_fan_out) weights": "транспонированные веса (fan_in_fan_out)",
    "full copies of some modules (modules_to_save)": "полные копии некоторых модулей (modules_to_save)",
    "trained token embeddings (trainable_token_indices)": "обученные эмбеддинги токенов (trainable_token_indices)",
    "layer replication": "повторение слоёв (layer replication)",
    "LoRA on parameters (target_parameters)": "LoRA на параметрах (target_parameters)",
    "{path} holds no LoRA weights.": "В {path} нет весов LoRA.",
    "Train the adapter again with finetune_gemma.bat, or pick another checkpoint with --adapter.":
        "Обучите адаптер заново с помощью finetune_gemma.bat или выберите другую контрольную точку в --adapter.",
    "{folder} is not a LoRA adapter folder: it has no {config_file}.":
        "{folder} — не папка LoRA-адаптера: в ней нет {config_file}.",
    "Point --adapter to the folder finetune_gemma.bat wrote (output/lora_adapter) or to one of "
    "output/checkpoints/checkpoint-N.":
        "Укажите в --adapter папку, которую записал finetune_gemma.bat (output/lora_adapter), или одну из "
        "output/checkpoints/checkpoint-N.",
    "Use another checkpoint with --adapter, or train again with finetune_gemma.bat.":
        "Укажите другую контрольную точку в --adapter или обучите заново с помощью finetune_gemma.bat.",
    "{path} has no number for {keys}, so the LoRA scale is unknown.":
        "В {path} не указано число для {keys}, поэтому масштаб LoRA неизвестен.",
    "{path}: this is a {peft_type} adapter, not LoRA; merge-lora merges LoRA only.":
        "{path}: это адаптер {peft_type}, а не LoRA; merge-lora объединяет только LoRA.",
    "{path}: the adapter uses {feature} ({key} = {value}), which merge-lora cannot merge; it merges plain LoRA only.":
        "{path}: адаптер использует {feature} ({key} = {value}), а merge-lora умеет объединять только обычный LoRA.",
    "{path}: the adapter was initialised with '{init}', which also changes the base weights, so merging it into the "
    "original model would be wrong.":
        "{path}: адаптер инициализирован методом '{init}', который меняет и веса исходной модели, поэтому "
        "объединять его с исходной моделью нельзя — результат был бы неверным.",
    "{folder} holds its weights as adapter_model.bin, a pickle file, which this kit never loads (a pickle can run "
    "code).":
        "В {folder} веса хранятся в adapter_model.bin — это файл pickle, а такие файлы этот набор никогда не "
        "загружает (pickle может запустить чужой код).",
    "Save the adapter again with peft's save_pretrained (it writes adapter_model.safetensors).":
        "Сохраните адаптер заново через save_pretrained из peft (он записывает adapter_model.safetensors).",
    "{folder} has {config_file} but no {weights_file}: the adapter was not saved completely.":
        "В {folder} есть {config_file}, но нет {weights_file}: адаптер сохранён не полностью.",
    "{path} holds {count} tensor(s) that are not plain LoRA A/B weights (first: {first}); merge-lora merges plain "
    "LoRA only.":
        "В {path} есть тензоры, которые не являются обычными весами LoRA A/B (всего {count}, первый: {first}); "
        "merge-lora объединяет только обычный LoRA.",
    "{path} is damaged: {count} module(s) have only one of lora_A / lora_B (first: {first}).":
        "Файл {path} повреждён: у части модулей есть только lora_A или только lora_B (всего {count}, первый: "
        "{first}).",
    "{path} gives {module} rank {rank}, but its weights have rank {weights_rank} (lora_A {a_shape}, lora_B "
    "{b_shape}).":
        "В {path} для {module} указан ранг {rank}, а у весов ранг {weights_rank} (lora_A {a_shape}, lora_B "
        "{b_shape}).",
    "The adapter's files do not belong together: use another checkpoint with --adapter, or train again with "
    "finetune_gemma.bat.":
        "Файлы адаптера не подходят друг к другу: укажите другую контрольную точку в --adapter или обучите заново "
        "с помощью finetune_gemma.bat.",
    "The adapter in {adapter} changes {count} weight(s) that the model in {base} does not have (first: {first}, "
    "looked for {looked_for}).":
        "Адаптер из {adapter} меняет веса, которых нет в модели из {base} (всего {count}, первый: {first}; искали "
        "{looked_for}).",
    "The adapter was made for another model. Merge it into the model it was trained on (--base), or train a new "
    "adapter on this one with finetune_gemma.bat.":
        "Адаптер сделан для другой модели. Объедините его с моделью, на которой он обучался (--base), или обучите "
        "новый адаптер на этой модели с помощью finetune_gemma.bat.",
    "The adapter in {adapter} does not fit the model in {base}: {weight} has shape {shape}, but the adapter's "
    "{module} changes a [{out_features}, {in_features}] weight.":
        "Адаптер из {adapter} не подходит к модели из {base}: у {weight} размер {shape}, а {module} в адаптере "
        "меняет вес размером [{out_features}, {in_features}].",
    "The adapter was trained on another model (E2B and E4B differ). Merge it into the model it was trained on "
    "(--base), or train a new adapter on this one with finetune_gemma.bat.":
        "Адаптер обучался на другой модели (E2B и E4B различаются). Объедините его с моделью, на которой он "
        "обучался (--base), или обучите новый адаптер на этой модели с помощью finetune_gemma.bat.",
    "{weight} in {file} is stored as {dtype}, not as plain floating-point numbers (a quantised model?), so the "
    "adapter cannot be added to it.":
        "{weight} в {file} хранится как {dtype}, а не как обычные числа с плавающей точкой (квантованная модель?), "
        "поэтому добавить к нему адаптер нельзя.",
    "Merge into the original bf16 model that download_model.bat fetches (--base).":
        "Объединяйте с исходной моделью bf16, которую скачивает download_model.bat (--base).",
    "{file} is cut short: expected {expected} bytes at offset {offset}, got {got}.":
        "Файл {file} обрывается: по смещению {offset} ожидалось байт: {expected}, прочитано: {got}.",
    "a weight file": "файл весов",
    "{name} has values too large to store as {dtype}.": "В {name} есть значения, слишком большие для {dtype}.",
    "Use --dtype bf16 or --dtype keep (float16 cannot hold them).":
        "Укажите --dtype bf16 или --dtype keep (в float16 они не помещаются).",
    "Adding the adapter gives NaN or infinite values in {weight}: the training went wrong (diverged).":
        "После добавления адаптера в {weight} появляются NaN или бесконечные значения: обучение пошло не так "
        "(разошлось).",
    "Merge an earlier checkpoint (--adapter output/checkpoints/checkpoint-N), or train again with a lower "
    "learning_rate.":
        "Объедините более раннюю контрольную точку (--adapter output/checkpoints/checkpoint-N) или обучите заново "
        "с меньшим learning_rate.",
    "Merging": "Объединение",
    "{file} is cut short: it ends inside a tensor.": "Файл {file} обрывается посреди тензора.",

    # ---- install-lmstudio and LM Studio's folder ----
    'Gemma 3n needs an up-to-date LM Studio runtime: if LM Studio says "unknown model architecture: gemma3n", '
    "update the llama.cpp runtime (Ctrl+Shift+R opens LM Studio's runtime settings), then load the model again.":
        "Для Gemma 3n нужна свежая среда выполнения LM Studio: если LM Studio пишет «unknown model architecture: "
        "gemma3n», обновите среду llama.cpp (Ctrl+Shift+R открывает настройки сред выполнения в LM Studio) и "
        "загрузите модель снова.",
    "linked": "создана жёсткая ссылка",
    "copied": "скопировано",
    "already there": "уже на месте",
    "lmstudio_models_dir in settings.toml": "lmstudio_models_dir в settings.toml",
    "LM Studio's own setting: downloadsFolder in {path}": "собственная настройка LM Studio: downloadsFolder в {path}",
    "LM Studio's home is {home}, named in {pointer}": "домашняя папка LM Studio — {home}, она указана в {pointer}",
    "LM Studio's default folder": "папка LM Studio по умолчанию",
    "the folder of older LM Studio versions": "папка старых версий LM Studio",
    "could not read {pointer} ({error}); looking in LM Studio's default folders instead.":
        "не удалось прочитать {pointer} ({error}); поиск продолжается в папках LM Studio по умолчанию.",
    "{pointer} names {home} as LM Studio's home, but that folder does not exist; looking in LM Studio's default "
    "folders instead.":
        "В {pointer} домашней папкой LM Studio указана {home}, но такой папки нет; поиск продолжается в папках "
        "LM Studio по умолчанию.",
    "could not read LM Studio's settings file {path} ({error}); its models-folder setting is ignored.":
        "не удалось прочитать файл настроек LM Studio {path} ({error}); указанная в нём папка моделей не учитывается.",
    "LM Studio's settings ({path}) name {folder} as its models folder, but that folder does not exist (a drive that "
    "is not connected?); looking in LM Studio's default folders instead.":
        "В настройках LM Studio ({path}) папкой моделей указана {folder}, но такой папки нет (диск не подключён?); "
        "поиск продолжается в папках LM Studio по умолчанию.",
    "the copy for LM Studio": "копирования в LM Studio",
    "Copying to LM Studio": "Копирование в LM Studio",
    "There is no GGUF file at {path} yet.": "Файла GGUF {path} пока нет.",
    "Run convert_to_gguf.bat first.": "Сначала запустите convert_to_gguf.bat.",
    'Wrote {modelfile} (for Ollama: `ollama create my-gemma -f "{modelfile}"`).':
        'Записан {modelfile} (для Ollama: `ollama create my-gemma -f "{modelfile}"`).',
    "given on the command line": "указана в командной строке",
    "LM Studio's models folder was not found (is LM Studio installed and started once?).":
        "Папка моделей LM Studio не найдена (LM Studio установлен и хотя бы раз запускался?).",
    "Import the file by hand: in LM Studio open My Models -> Import, and choose {path}":
        "Добавьте файл вручную: в LM Studio откройте «My Models» > «Import» и выберите {path}",
    "Or set lmstudio_models_dir in settings.toml and run this again.":
        "Или укажите lmstudio_models_dir в settings.toml и запустите этот шаг снова.",
    "LM Studio's models folder: {path} ({reason}).": "Папка моделей LM Studio: {path} ({reason}).",
    "Open LM Studio: the model is under My Models as {publisher}/{model}. If LM Studio was open, press the refresh "
    "button in My Models.":
        "Откройте LM Studio: модель находится в «My Models» под именем {publisher}/{model}. Если LM Studio был "
        "открыт, нажмите кнопку обновления в «My Models».",
    "lmstudio_try_reply is on, but LM Studio's `lms` command was found neither on PATH nor in ~/.lmstudio/bin, so "
    "the model was not tried in LM Studio: load it there by hand.":
        "Настройка lmstudio_try_reply включена, но команда `lms` из LM Studio не найдена ни в PATH, ни в ~/.lmstudio/bin, "
        "поэтому модель в LM Studio не проверялась: загрузите её там вручную.",
    "Loading {model} in LM Studio to ask it {question!r} (lmstudio_try_reply)...":
        "Загружаем {model} в LM Studio, чтобы задать вопрос {question!r} (lmstudio_try_reply)...",
    "LM Studio could not load {path}: {output}": "LM Studio не смог загрузить {path}: {output}",
    "Open LM Studio and load the model by hand to see the whole message.":
        "Откройте LM Studio и загрузите модель вручную, чтобы увидеть сообщение целиком.",
    "LM Studio loaded {path} but did not answer: {output}": "LM Studio загрузил {path}, но не ответил: {output}",
    "Open LM Studio and chat with the model by hand to see the whole message.":
        "Откройте LM Studio и напишите модели вручную, чтобы увидеть сообщение целиком.",
    "LM Studio loaded the model and answered: {reply!r}": "LM Studio загрузил модель и ответил: {reply!r}",
    "LM Studio's `lms {command}` did not finish within {timeout} s.":
        "Команда LM Studio `lms {command}` не завершилась за {timeout} с.",
    "Open LM Studio and load the model by hand; set lmstudio_try_reply = false to skip this.":
        "Откройте LM Studio и загрузите модель вручную; чтобы пропускать эту проверку, укажите "
        "lmstudio_try_reply = false.",
    "Could not run LM Studio's `lms` command ({lms}): {error}.":
        "Не удалось запустить команду LM Studio `lms` ({lms}): {error}.",
    "Set lmstudio_try_reply = false in settings.toml, or reinstall LM Studio.":
        "Укажите lmstudio_try_reply = false в settings.toml или переустановите LM Studio.",
    "no message": "сообщения нет",

    # ---- demo ----
    "the demo": "демо",
    "{folder} already holds files that the demo did not make; it will not delete them.":
        "В {folder} уже есть файлы, которые создало не демо; удалять их демо не будет.",
    "Give the demo an empty or new folder with --output, or leave --output out (output/demo).":
        "Укажите для демо пустую или новую папку в --output или не указывайте --output (будет output/demo).",
    "Building a tiny random Gemma 3n (real file layout, random weights) ...":
        "Создание крошечной случайной Gemma 3n (настоящая структура файлов, случайные веса) ...",
}

# tr_n reads a count's three Russian forms from its singular id; its plural id (also checked by the tests) holds
# the same forms.
for _singular, _plural in (("rank {values}", "ranks {values}"), ("scale {values}", "scales {values}")):
    MESSAGES[_plural] = MESSAGES[_singular]
