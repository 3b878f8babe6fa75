"""The stakeholder report: one self-contained HTML page (Plotly inline, no network) and, with Chromium, a PDF.

It opens with the default model in plain words (:func:`ser_core.reporting.summary.plain_summary`,
the same words as the dashboard's Home) and chance level, then the best model on new
speakers with its confusion matrix and per-class report, every model with its protocols
explained in plain words, accuracy against latency, the corpus the figures come from, the
study's figures beside ours, and an appendix with the date and the versions used. ``python -m ser_core report --out report.html [--pdf report.pdf]``; the dashboard's
Model comparison page offers the same file as a download.

Examples
--------
>>> html = build_report()  # doctest: +SKIP
>>> html.startswith("<!DOCTYPE html>")  # doctest: +SKIP
True
"""

from __future__ import annotations

import platform
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from ser_core.data.protocols import protocol_explanation, protocol_title
from ser_core.errors import InputError, SERError
from ser_core.formatting import MISSING, html_text, number, percent, percent_spread
from ser_core.reporting.study_figures import STUDY_PROTOCOL, STUDY_RESULTS, STUDY_TITLE, SYSTEM_TITLES

_STYLE = """
body {font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1f2430;
      max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45;}
h1 {font-size: 1.9rem; margin-bottom: 0.2rem;} h2 {margin-top: 2.2rem; border-bottom: 2px solid #d55e00;}
table {border-collapse: collapse; width: 100%; margin: 0.8rem 0; font-size: 0.95rem;}
th, td {text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #e3e6ee;}
th {background: #f4f6fa;} .muted {color: #5a6275; font-size: 0.9rem;}
.headline {background: #f4f6fa; border-left: 5px solid #d55e00; padding: 0.8rem 1rem; font-size: 1.15rem;}
.summary-box {background: #f4f6fa; border-left: 5px solid #d55e00; padding: 0.6rem 1rem;}
.summary-box .lead {font-size: 1.15rem; font-weight: 600; margin: 0.3rem 0 0.5rem;}
.summary-box ul {margin: 0; padding-left: 1.2rem;} .summary-box li {margin: 0.2rem 0;}
.table-wrap {max-width: 100%; overflow-x: auto;} td, th {overflow-wrap: anywhere;}
.plotly-graph-div {max-width: 100%;}
@media (max-width: 600px) {body {margin: 1rem auto; padding: 0 0.6rem;} h1 {font-size: 1.5rem;}
  table {font-size: 0.85rem;} th, td {padding: 0.3rem 0.35rem;}}
"""


def _versions() -> dict:
    import importlib.metadata as metadata

    from ser_core import __version__

    versions = {"ser_core": __version__, "python": platform.python_version()}
    for name in ("numpy", "scikit-learn", "librosa", "opensmile", "torch", "tensorflow-cpu", "plotly"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _table(header, rows) -> str:
    head = "".join(f"<th>{html_text(cell)}</th>" for cell in header)
    body = "".join("<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<div class='table-wrap'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"


def _figure(fig) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def _trained_on(artifact) -> str:
    """Where a model's figures come from, in words: its training corpora, clips and speakers."""
    from ser_core.reporting.summary import corpus_title, training_corpora

    training = artifact["config"].get("training") or {}
    corpora = ", ".join(corpus_title(name) for name in training_corpora(artifact["config"])) or "a corpus it does not name"
    clips, speakers = training.get("n_clips"), training.get("n_speakers") or training.get("n_actors")
    size = f" ({number(clips, decimals=0)} clips of {number(speakers, decimals=0)} speakers)" if clips and speakers else ""
    return f"{corpora}{size}"


def _corpus_section(corpus, default_artifact=None) -> list[str]:
    from ser_core.reporting import charts

    if corpus is None:
        if default_artifact is None:
            return ["<h2>The corpus</h2>", "<p class='muted'>No corpus was loaded with this report: each model's "
                    "figures come from the corpus it was trained and tested on.</p>"]
        return ["<h2>The corpus</h2>",
                f"<p>The figures come from the corpora each model was trained and tested on; the default model, "
                f"{html_text(default_artifact['name'])}, from {html_text(_trained_on(default_artifact))}. No corpus "
                "was loaded with this report, so its clips are not counted here.</p>"]
    import pandas as pd

    counts = pd.Series(corpus["by_label"])
    by_corpus = corpus.get("by_corpus") or {}
    several = (" from " + ", ".join(f"{name} ({count:,})" for name, count in by_corpus.items())) \
        if len(by_corpus) > 1 else ""
    return ["<h2>The corpus</h2>",
            f"<p>{html_text(corpus['title'].upper())}: {corpus['n_clips']:,} clips of {corpus['n_speakers']} "
            f"speakers{html_text(several)}.</p>",
            _figure(charts.counts_bar(counts, title="Clips per emotion", by_emotion=True, category="emotion"))]


def _loco_section(rows) -> list[str]:
    """Leave-one-corpus-out figures per corpus and their mean, for every model that has them (else nothing)."""
    from ser_core.reporting.comparison import per_corpus_rows

    table = per_corpus_rows(rows)
    if not table:
        return []
    return ["<h2>Speech it was not trained on: leave one corpus out</h2>",
            _table(["model", "corpus left out", "clips scored", "shared labels", "accuracy", "UAR", "macro F1"],
                   [(row["name"], row["corpus"], number(row["n_test_clips"], decimals=0), row["shared_labels"] or "",
                     percent(row["accuracy"]), percent(row["uar"]), number(row["macro_f1"], decimals=3))
                    for row in table]),
            "<p class='muted'>Each corpus was left out of training in turn and tested by a model trained on all the "
            "others, on the labels it shares with them (the model's choice restricted to those labels). The mean "
            "counts every corpus the same. Read it beside the new-speaker figure above: that one hears new voices "
            "of the training corpora, this one speech of a corpus never heard.</p>"]


def _summary_section(default_artifact) -> list[str]:
    """The default model in plain words, first (the same words as the dashboard's Home)."""
    from ser_core.reporting.summary import plain_summary

    if default_artifact is None:
        return []
    summary = plain_summary(default_artifact)
    return ["<h2>In short</h2>",
            f"<div class='summary-box' id='summary'><p class='muted'>The default model, "
            f"<b>{html_text(default_artifact['name'])}</b>:</p>{summary.html()}</div>"]


def _best_section(best, artifacts) -> list[str]:
    from ser_core.reporting import charts

    if best is None:
        return []
    metrics = next(a["metrics"] for a in artifacts if a.get("name") == best["name"] and "metrics" in a)
    evaluation = metrics.protocols[best["protocol"]].evaluation()
    parts = ["<h2>The best model on new speakers</h2>",
             f"<p class='headline'><b>{html_text(best['name'])}</b>: "
             f"{percent_spread(best['accuracy'], best['accuracy_std'])} accuracy, "
             f"{percent_spread(best['uar'], best['uar_std'])} UAR ({html_text(best['protocol_title'])}); "
             f"chance {percent(1 / best['n_labels']) if best.get('n_labels') else MISSING}.</p>"]
    if evaluation is not None:
        parts.append(_figure(charts.confusion(evaluation["confusion"], labels=evaluation["labels"],
                                              title="Confusion matrix (rows: true emotion)")))
        parts.append(_table(["emotion", "precision", "recall", "F1", "clips"],
                            [(label, f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"{row['f1']:.2f}",
                              row["support"]) for label, row in evaluation["per_class"].items()]))
    return parts


def _study_section(rows, default_name) -> list[str]:
    def ours(model, protocol):
        values = [row["accuracy"] for row in rows if row["model"] == model and row["protocol"] == protocol]
        return percent(max(values)) if values else MISSING

    table = [(SYSTEM_TITLES[model], percent(STUDY_RESULTS[model]["accuracy"]), ours(model, "random_as_written"),
              ours(model, "random"), ours(model, "kfold")) for model in SYSTEM_TITLES]
    default = [row for row in rows if row["name"] == default_name and row["protocol"] == "kfold"]
    if default:
        table.append((f"our default ({default_name})", MISSING, MISSING, MISSING, percent(default[0]["accuracy"])))
    return ["<h2>The study's figures beside ours</h2>",
            _table(["system", "study (random split)", "ours, as the study ran it", "ours, random split, clean",
                    "ours, new speakers"], table),
            f"<p class='muted'>Study: {html_text(STUDY_PROTOCOL)}. As the study ran it: early stopping watched the "
            "test clips (optimistic). Clean: early stopping on training clips only.</p>"]


def report_html(rows, artifacts, *, default_name=None, corpus=None, title="Speech emotion recognition: where we stand") -> str:
    """The report page from comparison rows (:func:`ser_core.reporting.comparison.comparison_rows`) and model folders."""
    import plotly.offline

    from ser_core.reporting import charts
    from ser_core.reporting.comparison import best_on_new_speakers, has_error, headline_rows

    rows = [row for row in rows if not has_error(row) and isinstance(row.get("protocol"), str)]
    if not rows:
        raise InputError("no model with evaluation figures to report on")
    headline = headline_rows(rows)
    best = best_on_new_speakers(rows)
    date = datetime.now(timezone.utc).strftime('%d %B %Y, %H:%M UTC')
    default_artifact = next((a for a in artifacts if a.get("name") == default_name and "config" in a), None)
    parts = [f"<h1>{html_text(title)}</h1>",
             f"<p class='muted'>A follow-up to the study “{html_text(STUDY_TITLE)}”: its systems reproduced, then "
             f"judged on speakers they never heard. {date}.</p>"]
    parts += _summary_section(default_artifact)
    parts += _best_section(best, artifacts)
    parts += ["<h2>Every model</h2>",
              _table(["model", "tested on", "accuracy", "UAR", "chance", "ms per 3-s clip"],
                     [(row["name"] + (" (default)" if row["name"] == default_name else ""), row["protocol_title"],
                       percent_spread(row["accuracy"], row["accuracy_std"]), percent_spread(row["uar"], row["uar_std"]),
                       percent(1 / row["n_labels"]) if row.get("n_labels") else MISSING,
                       number(row["latency_ms"])) for row in headline]),
              "<p class='muted'>± is the spread over folds (one standard deviation). UAR (unweighted average recall) "
              "counts every emotion the same, whatever its number of clips. Chance: the share a guess gets right "
              "(one in the number of emotions the model chooses from).</p>"]
    latency_rows = [row for row in headline if row.get("latency_ms")]
    if latency_rows:
        import pandas as pd

        parts.append(_figure(charts.accuracy_vs_latency(pd.DataFrame(latency_rows))))
    parts += _loco_section(rows)
    parts += ["<h2>What the protocols mean</h2>", "<ul>"]
    for protocol in sorted({row["protocol"] for row in rows}):
        example = next(row for row in rows if row["protocol"] == protocol)
        corpora = [corpus["corpus"] for corpus in example.get("per_corpus") or []]
        parts.append(f"<li><b>{html_text(example['protocol_title'])}</b>: "
                     f"{html_text(protocol_explanation(protocol, corpora=corpora) or protocol_title(protocol))}</li>")
    parts.append("</ul>")
    parts += _corpus_section(corpus, default_artifact)
    parts += _study_section(rows, default_name)
    versions = ", ".join(f"{name} {version}" for name, version in _versions().items())
    parts += ["<h2>Appendix: how this report was made</h2>",
              f"<p class='muted'>Written {date} by ser_core from the model folders' own figures "
              f"(config.json, metrics.json). Versions: {html_text(versions)}.</p>"]
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html_text(title)}</title><style>{_STYLE}</style>"
            f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script></head><body>"
            + "\n".join(parts) + "</body></html>")


def build_report(*, root=None, data=None) -> str:
    """The report of every model folder under ``root`` (default: the artifacts folder), with ``data``'s summary."""
    from ser_core.modelfolder.read import ArtifactError, default_model_dir, list_artifacts
    from ser_core.reporting.comparison import comparison_rows

    artifacts = list_artifacts(root)
    try:
        default = default_model_dir(root).name
    except ArtifactError:
        default = None
    corpus = None
    if data is not None:
        from ser_core.data.index import index_corpus, summarize

        corpus = summarize(index_corpus(data))
    return report_html(comparison_rows(artifacts, default_name=default), artifacts, default_name=default, corpus=corpus)


def html_to_pdf(html_path, pdf_path, *, chromium=None, timeout_s=120) -> Path:
    """Print the report to PDF with headless Chromium (Debian's ``chromium``); SERError when there is none."""
    browser = chromium or shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SERError("a PDF needs Chromium (Debian: apt install chromium); the HTML report was written")
    pdf_path = Path(pdf_path).resolve()
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--no-first-run", "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000",
               f"--print-to-pdf={pdf_path}", "--no-pdf-header-footer", Path(html_path).resolve().as_uri()]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=timeout_s)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        raise SERError(f"Chromium could not print the report to PDF: {error}") from None
    if not pdf_path.is_file() or pdf_path.stat().st_size == 0:
        raise SERError("Chromium printed no PDF")
    return pdf_path
