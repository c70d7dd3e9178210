"""The evaluation report as one self-contained HTML file (plots inlined as PNG, no scripts).

Sections: blessing verdicts (with the thresholds that failed and what was pushed),
retrieval plots (HR and NDCG against K; coverage and novelty against accuracy; HR@10 per
slice), the retrieval table per slice and the generator table, candidate next to baseline.

Example::

    write_html_report(latest_evaluations(config), "/tmp/report.html")
"""
from __future__ import annotations

import base64
import html
import io
from typing import Dict, Iterable, List, Optional

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402

from components.evaluation.tfma_metrics import IMPRESSION_METRIC_NAMES, TEXT_NAMES, text_metric_name  # noqa: E402
from pipelines.evaluation_report import OVERALL, compared_with, describe_failure, outcome  # noqa: E402
from recgen.explanation_baselines import BASELINES  # noqa: E402

RETRIEVAL_COLUMNS = ("example_count", "hr@10", "ndcg@10", "mrr@10", "hr@50", "hr@100", "coverage@10", "ild@10",
                     "novelty@10", "gini@10", *IMPRESSION_METRIC_NAMES)  # impression metrics: MIND-style data only
ROLES = ("candidate", "baseline")
_STYLE = """body{font-family:sans-serif;margin:2em;max-width:72em}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}th{background:#eee}td.name{text-align:left}
.ok{color:#080}.bad{color:#b00}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}"""


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return f'<img alt="plot" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _top_ks(metrics: Dict[str, float]) -> List[int]:
    return sorted(int(name.split("@")[1]) for name in metrics if name.startswith("hr@"))


def accuracy_plot(overall: Dict[str, Dict[str, float]]) -> str:
    """HR@K and NDCG@K against K, candidate (solid) and baseline (dashed)."""
    figure, axis = plt.subplots(figsize=(6, 3.6))
    for role, style in zip(ROLES, ("-o", "--s")):
        metrics = overall.get(role)
        if metrics:
            ks = _top_ks(metrics)
            for name in ("hr", "ndcg"):
                axis.plot(ks, [metrics[f"{name}@{k}"] for k in ks], style, label=f"{name.upper()} {role}")
    axis.set(xlabel="K", ylabel="metric value", title="Accuracy against K (overall)")
    axis.legend()
    return _png(figure)


def tradeoff_plot(overall: Dict[str, Dict[str, float]]) -> str:
    """Coverage@K and novelty@K against HR@K: how much variety each unit of accuracy costs."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, name in zip(axes, ("coverage", "novelty")):
        for role, marker in zip(ROLES, ("o", "s")):
            metrics = overall.get(role)
            if metrics:
                ks = _top_ks(metrics)
                axis.plot([metrics[f"hr@{k}"] for k in ks], [metrics[f"{name}@{k}"] for k in ks], marker=marker,
                          label=role)
                for k in ks:
                    axis.annotate(f"@{k}", (metrics[f"hr@{k}"], metrics[f"{name}@{k}"]), fontsize=8)
        axis.set(xlabel="HR@K", ylabel=f"{name}@K", title=f"{name.capitalize()} against accuracy")
        axis.legend()
    return _png(figure)


def slice_plot(slices: Dict[str, Dict[str, Dict[str, float]]], metric: str = "hr@10") -> str:
    """``metric`` per slice, candidate next to baseline."""
    names = [name for name in slices if metric in slices[name].get("candidate", {})]
    figure, axis = plt.subplots(figsize=(8, 3.6))
    width = 0.4
    for offset, role in enumerate(ROLES):
        values = [slices[name].get(role, {}).get(metric, 0.0) for name in names]
        if any(role in slices[name] for name in names):
            axis.bar([n + offset * width for n in range(len(names))], values, width, label=role)
    axis.set_xticks([n + width / 2 for n in range(len(names))], names, rotation=20, ha="right", fontsize=8)
    axis.set(ylabel=metric, title=f"{metric.upper()} per slice")
    axis.legend()
    return _png(figure)


def _cell(value: Optional[float]) -> str:
    if value is None:
        return "<td></td>"
    return f"<td>{value:,.0f}</td>" if float(value).is_integer() and abs(value) >= 1 else f"<td>{value:.4f}</td>"


def metric_table(slices: Dict[str, Dict[str, Dict[str, float]]], columns: Iterable[str]) -> str:
    columns = [column for column in columns if any(column in roles.get("candidate", {}) for roles in slices.values())]
    rows = ["<tr><th>slice</th><th>model</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr>"]
    for name, roles in slices.items():
        for role in (*ROLES, "difference"):
            if role in roles:
                rows.append(f'<tr><td class="name">{html.escape(name)}</td><td class="name">{role}</td>'
                            + "".join(_cell(roles[role].get(column)) for column in columns) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def explainer_table(figures: Dict[str, float]) -> str:
    """The candidate generator beside the baseline explainers on the overall test split, one row
    each (``figures``: the candidate's overall metrics, baselines' as ``<baseline>/<metric>``)."""
    rows = ["<tr><th>explainer</th>" + "".join(f"<th>{html.escape(name)}</th>" for name in TEXT_NAMES) + "</tr>"]
    for explainer in ("", *BASELINES):
        if text_metric_name(TEXT_NAMES[0], explainer) in figures:
            rows.append(f'<tr><td class="name">{html.escape(explainer or "generator")}</td>'
                        + "".join(_cell(figures.get(text_metric_name(name, explainer))) for name in TEXT_NAMES)
                        + "</tr>")
    return "<h3>Explainers compared (test split)</h3><table>" + "".join(rows) + "</table>"


def verdict(model_name: str, evaluation: dict) -> str:
    """One paragraph: blessed or not (and why), pushed where."""
    css = "ok" if evaluation["blessed"] else "bad"
    text = (f'<p class="{css}"><b>{model_name}: {outcome(evaluation)}</b> '
            f'(against {compared_with(evaluation)})')
    if evaluation["pushed"]:
        return text + f' to {html.escape(str(evaluation["pushed_destination"]))}.</p>'
    failures = "".join(f"<li>{html.escape(describe_failure(failure))}</li>"
                       for failure in evaluation["failed_thresholds"])
    return text + (f". Failed thresholds:</p><ul>{failures}</ul>" if failures else ".</p>")


def render(evaluations: Dict[str, Optional[dict]], title: str) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1><h2>Blessing</h2>"]
    for name, evaluation in evaluations.items():
        parts.append(verdict(name, evaluation) if evaluation else f"<p>{name}: not evaluated in this run.</p>")
    retrieval = evaluations.get("retrieval")
    if retrieval:
        overall = retrieval["slices"].get(OVERALL, {})
        parts += ["<h2>Retrieval</h2>", accuracy_plot(overall), tradeoff_plot(overall),
                  slice_plot(retrieval["slices"]), metric_table(retrieval["slices"], RETRIEVAL_COLUMNS)]
    generator = evaluations.get("generator")
    if generator:
        parts += ["<h2>Explanation generator</h2>",
                  explainer_table(generator["slices"].get(OVERALL, {}).get("candidate", {})),
                  metric_table(generator["slices"], ("example_count", *TEXT_NAMES))]
    parts.append("</body></html>")
    return "\n".join(parts)


def write_html_report(evaluations: Dict[str, Optional[dict]], path: str, title: str = "RecGen evaluation") -> str:
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(render(evaluations, title))
    return path
