"""The HTML report's comparison of the generator with the baseline explainers."""
import re

from components.evaluation.tfma_metrics import TEXT_NAMES
from pipelines.html_report import explainer_table


def test_the_explainer_table_has_a_row_per_explainer_with_its_own_figures():
    figures = {**{name: 0.5 for name in TEXT_NAMES}, **{f"item_most_frequent/{name}": 0.25 for name in TEXT_NAMES}}
    rows = re.findall(r"<tr>(.*?)</tr>", explainer_table(figures))
    assert len(rows) == 3                                    # header, generator, item_most_frequent (no similar_user)
    assert all(f"<th>{name}</th>" in rows[0] for name in TEXT_NAMES)
    assert rows[1].startswith('<td class="name">generator</td>') and rows[1].count("<td>0.5000</td>") == len(TEXT_NAMES)
    assert rows[2].startswith('<td class="name">item_most_frequent</td>')
    assert rows[2].count("<td>0.2500</td>") == len(TEXT_NAMES)
