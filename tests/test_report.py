"""The before/after report on the tiny model: sections, two different models, eval-only prompts."""
import html
import json
import re

import pytest
import torch

from gemma_kit.cli import main
from gemma_kit.steps.report import perplexity_change, pick_samples
from gemma_kit.training.collate import TrainingDialog

TRAIN = [("What is your name?", "My name is Gemma Kit."), ("Where do you live?", "I live in the park."),
         ("What do you drink?", "I drink tea with milk."), ("When do we meet?", "We meet at six o'clock.")]
EVAL = [("Как тебя зовут?", "Меня зовут Кит."), ("Где ты живёшь?", "В парке, конечно."),
        ("Что ты пьёшь?", "Чай с молоком."), ("Когда встречаемся?", "В шесть.")]


def write_split(root):
    data = root / "data"
    data.mkdir(parents=True)
    for name, pairs in (("train_dataset.jsonl", TRAIN), ("eval_dataset.jsonl", EVAL)):
        lines = [json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                            ensure_ascii=False) for q, a in pairs]
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def trained_project(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("report_project")
    write_split(root)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        code = main(["--root", str(root), "finetune", "--max-steps", "12", "--set", f"model_path={tiny_model_dir}",
                     "--set", "max_seq_length=64", "--set", "gradient_accumulation_steps=1", "--set", "batch_size=4",
                     "--set", "learning_rate=1e-2", "--set", "lora_dropout=0.0", "--set", "eval_steps=12",
                     "--set", "after_training=stop", "--set", "report_examples=0"])
    finally:
        torch.set_num_threads(threads)
    assert code == 0
    return root, tiny_model_dir


def run_report(root, model_dir, *extra):
    return main(["--root", str(root), "report", "--set", f"model_path={model_dir}", "--set", "max_seq_length=64",
                 "--set", "report_max_new_tokens=10", *extra])


def test_report_page_has_every_section_and_both_models(trained_project, capsys):
    root, model_dir = trained_project
    assert run_report(root, model_dir, "--examples", "4") == 0
    out = capsys.readouterr().out
    page = (root / "output" / "report.html").read_text(encoding="utf-8")
    for label in ("Eval loss, base model", "Eval loss, fine-tuned", "Training time", "Preset", "Training examples",
                  "What you actually wrote", "Base model", "Fine-tuned"):
        assert html.escape(label) in page
    assert '<html lang="en">' in page
    assert not re.search("[А-Яа-я]", page.replace("\n", " ").split("<body>")[1].split('<div class="sample">')[0])
    assert page.count('<div class="sample">') == 4
    base = re.findall(r'Base model</span>(.*?)</div>', page, flags=re.S)
    tuned = re.findall(r'Fine-tuned</span>(.*?)</div>', page, flags=re.S)
    assert len(base) == len(tuned) == 4
    assert base != tuned  # the adapter changed what the model says
    assert "http" not in page.split("</style>")[0]  # self-contained: nothing fetched
    assert "Eval loss: base" in out and f"{root / 'output' / 'report.html'}" in out


def test_the_report_speaks_russian_with_language_ru(trained_project, capsys):
    """Every label of the page and of the console summary in Russian; the page says so (lang="ru")."""
    root, model_dir = trained_project
    dest = root / "output" / "report_ru.html"
    assert run_report(root, model_dir, "--examples", "2", "--output", str(dest), "--set", "language=ru") == 0
    out = capsys.readouterr().out
    page = dest.read_text(encoding="utf-8")
    assert '<html lang="ru">' in page
    for label in ("Loss исходной модели на проверочных примерах", "Loss после дообучения на проверочных примерах",
                  "Ваши настоящие ответы для модели стали", "Время обучения", "Примеры для обучения",
                  "Что на самом деле написали вы", "Исходная модель", "После дообучения", "Диалог"):
        assert html.escape(label) in page, label
    # No label has English words in it ("loss" is the term the kit explains; the values are numbers and names).
    labels = re.findall(r'<div class="fact">(.*?)<b>', page) + re.findall(r'class="label">(.*?)</span>', page)
    labels += re.findall(r"<(?:title|h1|p)>(.*?)</", page)
    english = [text for text in labels
               if re.search(r"\b(?!loss\b)[A-Za-z]{3,}", html.unescape(text).replace("Gemma 3n", ""), flags=re.I)]
    assert len(labels) >= 8 + 3 * 2 + 3 and english == []
    assert re.search(r"в \d+,\d раза (вероятнее|менее вероятными)", page)
    assert "Ошибка базовой модели" not in page and "more likely" not in page
    assert "Loss на проверочных примерах (чем меньше, тем лучше): исходная модель" in out
    assert "вы написали:" in out and "(откройте его в браузере)" in out


def test_every_prompt_comes_from_the_eval_split(trained_project, capsys):
    root, model_dir = trained_project
    assert run_report(root, model_dir, "--examples", "4") == 0
    page = html.unescape((root / "output" / "report.html").read_text(encoding="utf-8"))
    for question, answer in EVAL:
        assert question in page and answer in page
    for question, answer in TRAIN:
        assert question not in page and answer not in page


def test_pick_samples_is_seeded_and_keeps_the_last_reply_apart():
    conversations = [TrainingDialog(i + 1, ({"role": "user", "content": f"q{i}"},
                                          {"role": "assistant", "content": f"a{i}"})) for i in range(20)]
    first = pick_samples(conversations, 5, seed=42)
    assert [s.line for s in first] == [s.line for s in pick_samples(conversations, 5, seed=42)]
    assert len(first) == 5 and all(s.actual == f"a{s.line - 1}" and s.context[-1]["content"] == f"q{s.line - 1}"
                                   for s in first)
    assert len(pick_samples(conversations, 50, seed=1)) == 20


def test_no_adapter_is_a_plain_error(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "report"]) == 1
    assert "There is no trained adapter" in capsys.readouterr().err


def test_loss_change_reads_as_likelihood():
    assert perplexity_change(2.0, 1.0) == "2.7x more likely"
    assert perplexity_change(1.0, 2.0) == "2.7x less likely"


def test_a_long_context_loses_whole_old_exchanges_not_its_start(tiny_model_dir):
    from transformers import AutoTokenizer

    from gemma_kit.steps.report import Sample, prompt_ids

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    context = []
    for i in range(6):
        context += [{"role": "user", "content": f"Вопрос номер {i}, довольно длинный"},
                    {"role": "assistant", "content": f"Ответ номер {i}, тоже длинный"}]
    context.append({"role": "user", "content": "Последний вопрос?"})
    ids = prompt_ids(tokenizer, Sample(1, context, "ответ"), limit=80)
    text = tokenizer.decode(ids)
    assert len(ids) <= 80
    assert text.startswith("<bos><start_of_turn>user\n") and text.endswith("<start_of_turn>model\n")
    assert "Последний вопрос?" in text and "Вопрос номер 0" not in text


def test_the_chunked_eval_loss_equals_the_models_own(trained_project):
    """The report computes its losses like training does (chunked): the same numbers as the plain model loss,
    without the whole 262k-word logits on the GPU."""
    from gemma_kit.core.settings import load_settings
    from gemma_kit.steps.report import load_models, mean_eval_losses

    root, model_dir = trained_project
    losses = {}
    for chunked in (True, False):
        settings = load_settings(root, cli_pairs=[f"model_path={model_dir}", "max_seq_length=64",
                                                  f"chunked_loss={str(chunked).lower()}"])
        model, tokenizer = load_models(settings, settings.adapter_dir)
        losses[chunked] = mean_eval_losses(model, tokenizer, settings)
    base, tuned = losses[True]
    assert base != tuned   # the adapter changes the loss, so both models were really measured
    assert losses[True] == pytest.approx(losses[False], rel=1e-4)

