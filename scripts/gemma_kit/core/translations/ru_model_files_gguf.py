"""Russian: the model files' part of the kit — the GGUF conversion (convert-gguf), the checks of the merged
model before it and the self-check of the written file."""

MESSAGES = {
    # ---- convert-gguf: the step ----
    "Converting {source} -> {dest} ({type}) with these settings:":
        "Преобразование {source} -> {dest} ({type}) с такими настройками:",
    "the GGUF file": "файла GGUF",
    "{dest} already exists: it will be replaced when the new file is complete.":
        "{dest} уже есть: файл будет заменён, когда новый будет готов целиком.",
    "Self-check skipped (--no-check).": "Самопроверка пропущена (--no-check).",
    "{merged} was merged from the adapter in {adapter}, which has changed since (trained again?). This GGUF does not "
    "include that newer training: run merge_lora.bat, then convert again.":
        "Модель {merged} получена объединением с адаптером из {adapter}, но с тех пор адаптер изменился (обучение запускали снова?). "
        "В этом файле GGUF нового обучения нет: запустите merge_lora.bat, затем преобразуйте заново.",
    "Checking the written file...": "Проверка записанного файла...",
    "{dest} was written, but llama.cpp's check found that it would not work in LM Studio:\n  - {problems}":
        "{dest} записан, но проверка в llama.cpp показала, что в LM Studio он работать не будет:\n  - {problems}",
    "{dest} was written, but the check of the file found that it would not work in LM Studio:\n  - {problems}":
        "{dest} записан, но проверка файла показала, что в LM Studio он работать не будет:\n  - {problems}",
    "Run convert_only.bat again (a full disk or an antivirus can damage a file while it is written). If the same "
    "problem comes back, convert the merged model of an unmodified base checkpoint: run merge_lora.bat again (it "
    "writes every tensor and copies the tokenizer files). dev_log.txt lists the known causes; run with --debug for "
    "details.":
        "Снова запустите convert_only.bat (переполненный диск или антивирус могут повредить файл во время записи). "
        "Если ошибка повторится, преобразуйте объединённую модель, сделанную из неизменённой исходной модели: "
        "снова запустите merge_lora.bat (он записывает все тензоры и копирует файлы токенизатора). Известные "
        "причины описаны в dev_log.txt; подробности покажет запуск с --debug.",
    "LM Studio's copy {installed} still holds the previous conversion: {problem} {hint} Or run "
    "install_to_lmstudio.bat later.":
        "В копии для LM Studio {installed} осталась прежняя версия: {problem} {hint} Или запустите "
        "install_to_lmstudio.bat позже.",
    "LM Studio's copy of the previous conversion was replaced with the new file ({how}): {installed}":
        "Прежняя копия для LM Studio заменена новым файлом ({how}): {installed}",
    "{source} does not exist, so there is no merged model to convert.":
        "{source} не существует, поэтому преобразовывать нечего: объединённой модели нет.",
    "Run merge_lora.bat first (it writes output/merged_model/), or point --input at a merged model folder.":
        "Сначала запустите merge_lora.bat (он записывает output/merged_model/) или укажите в --input папку "
        "объединённой модели.",
    "{dest} is a folder; the output must be a file name ending in .gguf.":
        "{dest} — это папка, а результатом должен быть файл с расширением .gguf.",
    "Give a file name, e.g. --output output/finetuned_gemma.gguf":
        "Укажите имя файла, например --output output/finetuned_gemma.gguf",
    "Writing GGUF": "Запись GGUF",
    "Wrote {dest} ({size}, {type}, {count} tensors) in {seconds:.1f} s ({speed:.0f} MB/s).":
        "Записано: {dest} ({size}, {type}, тензоров: {count}) за {seconds:.1f} с ({speed:.0f} МБ/с).",
    "Left out {count} image/audio tensors: the .gguf holds the text model, which is what LM Studio runs for Gemma "
    "3n.":
        "Пропущены тензоры для изображений и звука ({count}): в .gguf записана текстовая модель — именно её "
        "LM Studio запускает для Gemma 3n.",
    "the checkpoint has no chat template (tokenizer_config.json or chat_template.jinja), so LM Studio will not know "
    "Gemma's turn format; copy chat_template.jinja from the base model and convert again.":
        "в модели нет шаблона чата (tokenizer_config.json или chat_template.jinja), поэтому LM Studio не будет "
        "знать формат реплик Gemma; скопируйте chat_template.jinja из исходной модели и преобразуйте заново.",
    " and ": " и ",
    " or ": " или ",
    "{config} does not mark {markers} as special tokens (its added_tokens_decoder list is missing), so LM Studio "
    "will read them as plain text and the chat turns will not work. Copy tokenizer_config.json from the base "
    "model's folder into the merged model and convert again.":
        "В {config} {markers} не отмечены как специальные токены (нет списка added_tokens_decoder), поэтому "
        "LM Studio прочитает их как обычный текст и реплики чата работать не будут. Скопируйте "
        "tokenizer_config.json из папки исходной модели в объединённую модель и преобразуйте заново.",
    "Settings saved to {path}": "Настройки сохранены в {path}",
    'To use it in LM Studio: run install_to_lmstudio.bat (it puts the file where LM Studio looks), or run '
    '`lms import "{dest}"`, or copy it to LM Studio\'s models folder as <publisher>/<model>/{name}. Then pick it '
    "under My Models and chat: the Gemma chat template inside the file is used automatically.":
        'Чтобы открыть модель в LM Studio, запустите install_to_lmstudio.bat (он положит файл туда, где LM Studio '
        'ищет модели), или выполните `lms import "{dest}"`, или скопируйте файл в папку моделей LM Studio как '
        "<publisher>/<model>/{name}. Затем выберите модель в «My Models» и начинайте чат: шаблон чата Gemma "
        "из файла подключится сам.",

    # ---- convert-gguf: checks of the merged model before converting ----
    "{folder} has no tokenizer.model, so the GGUF would have no vocabulary.":
        "В {folder} нет tokenizer.model, поэтому у файла GGUF не было бы словаря.",
    "Copy tokenizer.model from the base model's folder (under models/) into it, or run merge_lora.bat again (it "
    "copies the tokenizer).":
        "Скопируйте туда tokenizer.model из папки исходной модели (в models/) или снова запустите merge_lora.bat "
        "(он копирует токенизатор).",
    "{config} lacks {keys}, which a Gemma 3n config always has.":
        "В {config} нет {keys}, а в config.json модели Gemma 3n это всегда есть.",
    "Copy config.json from the base model's folder (under models/), or run merge_lora.bat again.":
        "Скопируйте config.json из папки исходной модели (в models/) или снова запустите merge_lora.bat.",
    "{key} is {value!r}; llama.cpp always uses {fixed}": "{key} = {value!r}, а llama.cpp всегда использует {fixed}",
    "num_hidden_layers - num_kv_shared_layers is {n_layers} - {n_shared}; llama.cpp always shares the KV cache from "
    "layer {first} on":
        "num_hidden_layers - num_kv_shared_layers = {n_layers} - {n_shared}, а llama.cpp всегда делит KV-кэш "
        "начиная со слоя {first}",
    "layer_types has {count} entries for {n_layers} layers":
        "в layer_types записей: {count}, а слоёв: {n_layers}",
    "layer {layer} is {found!r}; llama.cpp's KV-shared layers reuse layer {layer} as {wanted}":
        "слой {layer} — {found!r}, а слои с общим KV-кэшем в llama.cpp используют слой {layer} как {wanted}",
    "activation_sparsity_pattern is {pattern!r}; llama.cpp needs one value per layer":
        "activation_sparsity_pattern = {pattern!r}, а llama.cpp нужно по одному значению на слой",
    "activation_sparsity_pattern[{layer}] is {value}; llama.cpp applies sparsity {target} to exactly layers "
    "0-{last} and none after":
        "activation_sparsity_pattern[{layer}] = {value}, а llama.cpp применяет разреженность {target} ровно к "
        "слоям 0-{last} и ни к каким после них",
    "{config}: this Gemma 3n differs from what llama.cpp (and so LM Studio) hard-codes, and would compute wrong "
    "answers:\n  {problems}":
        "{config}: эта Gemma 3n отличается от того, что жёстко задано в llama.cpp (а значит, и в LM Studio), и "
        "выдавала бы неверные ответы:\n  {problems}",
    "Fine-tune google/gemma-3n-E2B-it or google/gemma-3n-E4B-it (their values match); a checkpoint with other sizes "
    "cannot run in llama.cpp.":
        "Дообучайте google/gemma-3n-E2B-it или google/gemma-3n-E4B-it (у них значения совпадают); модель других "
        "размеров в llama.cpp работать не будет.",
    " and {count} more": " и ещё {count}",
    "Run merge_lora.bat again, or download the base model again if it came incomplete.":
        "Снова запустите merge_lora.bat или скачайте исходную модель заново, если она скачалась не полностью.",
    "These belong to the KV-shared layers, which transformers ignores and peft's merge_and_unload() + "
    "save_pretrained() drops; llama.cpp still requires them. Run merge_lora.bat again (it keeps them).":
        "Это тензоры слоёв с общим KV-кэшем: transformers их не использует, а merge_and_unload() + "
        "save_pretrained() из peft их теряет, но llama.cpp без них не работает. Снова запустите merge_lora.bat "
        "(он их сохраняет).",
    "{folder} lacks {count} tensor(s) that llama.cpp needs to load Gemma 3n: {names}.":
        "В {folder} не хватает тензоров, без которых llama.cpp не загрузит Gemma 3n (всего {count}): {names}.",
    "{folder}: {count} tensor(s) are stored as {dtype} (first: {first}), not as bf16/f16/f32 weights — a quantized "
    "(4-bit/8-bit) checkpoint cannot be converted.":
        "{folder}: часть тензоров хранится как {dtype} (всего {count}, первый: {first}), а не как веса "
        "bf16/f16/f32 — квантованную (4- или 8-битную) модель преобразовать нельзя.",
    "Convert the merged model written by merge_lora.bat (it saves bf16), not a 4-bit one.":
        "Преобразуйте объединённую модель, записанную merge_lora.bat (она в bf16), а не 4-битную.",
    "{folder} holds two tensors for {gguf_name}: {first} and {second}.":
        "В {folder} два тензора для {gguf_name}: {first} и {second}.",
    "The folder mixes two checkpoints; write the merged model into an empty folder.":
        "В папке смешаны две модели; запишите объединённую модель в пустую папку.",
    "{folder} holds {count} tensor(s) that are not part of Gemma 3n's text model (first: {names}).":
        "В {folder} есть тензоры, не относящиеся к текстовой модели Gemma 3n (всего {count}; первые: {names}).",
    "Convert the folder written by merge_lora.bat; LoRA adapter tensors must be merged first.":
        "Преобразуйте папку, которую записал merge_lora.bat: тензоры LoRA-адаптера сначала нужно объединить с "
        "моделью.",
    "{folder}: {name} has {rows} rows, more than vocab_size {vocab_size} in config.json.":
        "{folder}: в {name} строк: {rows} — больше, чем vocab_size {vocab_size} в config.json.",
    "The config does not belong to these weights; run merge_lora.bat again.":
        "Файл config.json не от этих весов; снова запустите merge_lora.bat.",
    "{folder}: the tensors stacked into {name} differ in shape: {shapes}.":
        "{folder}: тензоры, которые объединяются в {name}, разного размера: {shapes}.",
    "The checkpoint is damaged; run merge_lora.bat again.": "Модель повреждена; снова запустите merge_lora.bat.",
    "config.json asks for '{rope_type}' rope scaling, which Gemma 3n does not use and this converter does not "
    "write.":
        "В config.json задано масштабирование rope '{rope_type}': Gemma 3n его не использует, и этот "
        "преобразователь его не записывает.",
    "Convert an unmodified Gemma 3n fine-tune.": "Преобразуйте дообученную Gemma 3n без изменений в её настройках.",
    "{path} is not a valid SentencePiece tokenizer ({error}).":
        "{path} не читается как токенизатор SentencePiece ({error}).",
    "Copy tokenizer.model again from the base model's folder (under models/).":
        "Скопируйте tokenizer.model заново из папки исходной модели (в models/).",
    "Copy it again from the base model's folder (under models/).":
        "Скопируйте его заново из папки исходной модели (в models/).",
    "{path} has {pieces:,} pieces, more than the model's vocab_size {vocab_size:,}: it belongs to another model.":
        "В {path} токенов: {pieces:,} — больше, чем vocab_size модели ({vocab_size:,}): это токенизатор другой "
        "модели.",
    "Copy tokenizer.model from the base model's folder (under models/).":
        "Скопируйте tokenizer.model из папки исходной модели (в models/).",
    "{file} ended early while reading {name} ({got:,} of {size:,} bytes).":
        "Файл {file} закончился раньше времени при чтении {name} (прочитано байт: {got:,} из {size:,}).",
    "Was the file changed or copied over while converting? Run the step again; if it happens again, write that "
    "model folder again (merge_lora.bat).":
        "Файл меняли или перезаписывали во время преобразования? Запустите шаг снова; если ошибка повторится, "
        "запишите папку модели заново (merge_lora.bat).",

    # ---- convert-gguf: the self-check of the written file ----
    "the file cannot be read as a GGUF ({error}); it is damaged or incomplete — convert again":
        "файл не читается как GGUF ({error}): он повреждён или записан не полностью — преобразуйте заново",
    "{count} tensor(s) that should be in the file are missing: {names} (llama.cpp refuses to load a Gemma 3n "
    "without them)":
        "в файле нет тензоров, которые должны там быть (всего {count}): {names} (без них llama.cpp не загрузит "
        "Gemma 3n)",
    "{name} is {type} {shape} in the file; it should be {planned_type} {planned_shape}":
        "{name} в файле — {type} {shape}, а должен быть {planned_type} {planned_shape}",
    "the file holds {count} tensor(s) that do not belong in it: {names}":
        "в файле есть лишние тензоры (всего {count}): {names}",
    "{names} hold(s) NaN or infinite values, so the model would answer with garbage (if converting again names them "
    "again, the merged model itself holds them: a damaged merge, or training that went wrong — see "
    "output/report.html)":
        "в {names} есть NaN или бесконечные значения, поэтому модель отвечала бы бессмыслицей (если после "
        "повторного преобразования названы те же тензоры, значит, они испорчены в самой объединённой модели: "
        "объединение повреждено или обучение пошло не так — см. output/report.html)",
    "the file names no {kind} token, so llama.cpp would guess its id (and guesses wrong for Gemma)":
        "в файле не указан токен {kind}, поэтому llama.cpp подставил бы свой номер (и для Gemma ошибся бы)",
    "no token at all": "вообще не токен",
    "the {kind} token id {token_id} is {got}, not {wanted}":
        "токен {kind} с номером {token_id} — это {got}, а не {wanted}",
    "{markers} is read as plain text, not as Gemma's turn markers (the tokenizer's special-token list was lost)": (
        "{markers} читается как обычный текст, а не как метка реплики Gemma (потерян список специальных токенов "
        "токенизатора)",
        "{markers} читаются как обычный текст, а не как метки реплик Gemma (потерян список специальных токенов "
        "токенизатора)",
        "{markers} читаются как обычный текст, а не как метки реплик Gemma (потерян список специальных токенов "
        "токенизатора)"),
    "{markers} is not in the file's token list, so the chat turns cannot be marked": (
        "{markers} нет в списке токенов файла, поэтому реплики чата нечем разметить",
        "{markers} нет в списке токенов файла, поэтому реплики чата нечем разметить",
        "{markers} нет в списке токенов файла, поэтому реплики чата нечем разметить"),
    "the file has no chat template, so LM Studio would not know Gemma's turn format":
        "в файле нет шаблона чата, поэтому LM Studio не знал бы формат реплик Gemma",
    "the chat template in the file does not render ({error_type}: {error})":
        "шаблон чата в файле не работает ({error_type}: {error})",
    "the chat template in the file does not render Gemma's turns":
        "шаблон чата в файле не размечает реплики Gemma",
    "llama.cpp could not load the file ({error}); run with --debug and see dev_log.txt for the known causes":
        "llama.cpp не смог загрузить файл ({error}); запустите с --debug, известные причины описаны в dev_log.txt",
    "<end_of_turn> does not end generation, so replies would run on past the model's turn":
        "<end_of_turn> не останавливает генерацию, поэтому ответы продолжались бы и после реплики модели",
    "Self-check of the .gguf FAILED:": "Самопроверка .gguf НЕ ПРОЙДЕНА:",
    "all {count} tensors with their planned shapes and types, ":
        "тензоров на месте: {count}, все с ожидаемыми размерами и типами; ",
    "Self-check: the file is complete ({tensors}finite values in a sample of every tensor, a chat template that "
    "renders Gemma's turns, the right <bos>/<eos> and turn-marker tokens).":
        "Самопроверка: файл в порядке ({tensors}в выборке из каждого тензора нет NaN и бесконечностей, шаблон чата "
        "размечает реплики Gemma, токены <bos>/<eos> и метки реплик верные).",
    "  Checked without running it (llama.cpp is not installed here); LM Studio will run it.":
        "  Проверено без запуска модели (llama.cpp здесь не установлен); запустит её LM Studio.",
    "Self-check: the file works (llama.cpp loads it, the chat template renders, the turn markers are special "
    "tokens, <end_of_turn> ends a reply).":
        "Самопроверка: файл работает (llama.cpp его загружает, шаблон чата работает, метки реплик — "
        "специальные токены, <end_of_turn> завершает ответ).",
    "  Sample reply: {reply!r}": "  Пример ответа: {reply!r}",
    "  The reply ended by itself after {count} tokens.": "  Ответ завершился сам (токенов: {count}).",
    "  The reply did not end within {count} tokens (expected for the tiny random demo model; a trained Gemma ends "
    "its turns).":
        "  Ответ не завершился в пределах лимита токенов ({count}); для крошечной случайной демо-модели это "
        "нормально, обученная Gemma свои реплики завершает.",
}

# tr_n reads a count's three Russian forms from its singular id; its plural id (also checked by the tests) holds
# the same forms.
for _singular, _plural in (
        ("{markers} is read as plain text, not as Gemma's turn markers (the tokenizer's special-token list was lost)",
         "{markers} are read as plain text, not as Gemma's turn markers (the tokenizer's special-token list was "
         "lost)"),
        ("{markers} is not in the file's token list, so the chat turns cannot be marked",
         "{markers} are not in the file's token list, so the chat turns cannot be marked")):
    MESSAGES[_plural] = MESSAGES[_singular]
