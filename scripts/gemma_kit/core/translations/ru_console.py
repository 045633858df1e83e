"""Russian: the console's own words (markers, questions, progress units)."""

MESSAGES = {
    "Error:": "Ошибка:",
    "What to do:": "Что сделать:",
    "Warning:": "Внимание:",
    "Next: run {bat_name}  (or: {command})": "Дальше: запустите {bat_name}  (или: {command})",
    "{question} -> using the default '{default}' (no terminal to ask).":
        "{question} -> выбрано по умолчанию: '{default}' (спросить негде: нет терминала).",
    " (default in {seconds} s)": " (через {seconds} с — вариант по умолчанию)",
    "No answer in {seconds} s -> using the default '{default}'.":
        "Нет ответа за {seconds} с -> выбрано по умолчанию: '{default}'.",
    "Please answer one of: {choices}": "Ответьте одним из вариантов: {choices}",
    "Stopped by the user (Ctrl+C).": "Остановлено пользователем (Ctrl+C).",
    " (yours)": " (задано вами)",
    "  also set by you: {names} (all settings: --verbose)": "  ещё вы задали: {names} (все настройки: --verbose)",
}
