"""A synthetic news data set in MIND's exact format (``news.tsv``, ``behaviors.tsv``), for the
tests and for trying the news path without MIND's licence.

Built so that a model can learn what a news recommender must:

- articles belong to a category and a subcategory, are published on one day and shown for
  ``shelf_days`` days after it (so most test-time articles are new), and have a latent appeal
  that their title's wording hints at ("exclusive", "breaking", ...) but does not give away;
- each user reads a few categories and clicks, before the log period, articles of an archive
  (the history column);
- each impression shows live articles, more popular ones more often, and the user clicks those
  that match their taste and appeal to them (at least one).

Deterministic for a seed. ``pair=True`` writes the official release's two folders, the last
day as the dev split.

Example:
    >>> import tempfile
    >>> folders = write_mind(SyntheticNewsConfig(users=30, articles=60, seed=3), tempfile.mkdtemp())
    >>> [path.name for path in sorted(folders[0].iterdir())]
    ['behaviors.tsv', 'news.tsv']
"""
from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import List, Union

import numpy as np

# category -> subcategories and the words of its titles and abstracts
CATEGORIES = {
    "sports": (("football", "tennis", "basketball"), ("match", "season", "coach", "title", "league")),
    "finance": (("markets", "economy", "companies"), ("stocks", "rates", "earnings", "investors", "bank")),
    "tech": (("gadgets", "software", "science"), ("phone", "startup", "chip", "app", "robot")),
    "health": (("fitness", "medical", "nutrition"), ("doctors", "study", "diet", "sleep", "vaccine")),
    "travel": (("destinations", "flights", "hotels"), ("island", "airline", "city", "beach", "trip")),
    "food": (("recipes", "restaurants", "drinks"), ("dinner", "chef", "coffee", "bakery", "wine")),
    "entertainment": (("movies", "music", "tv"), ("film", "album", "series", "star", "festival")),
    "politics": (("elections", "policy", "world"), ("vote", "senate", "law", "summit", "campaign")),
}
APPEAL_WORDS = ("exclusive", "breaking", "inside", "revealed")  # in the titles of appealing articles
PLAIN_WORDS = ("update", "notes", "brief", "roundup")
START = datetime.datetime(2019, 11, 9, tzinfo=datetime.timezone.utc)


@dataclasses.dataclass(frozen=True)
class SyntheticNewsConfig:
    users: int = 2000
    articles: int = 1500
    log_days: int = 6
    archive_share: float = 0.3  # articles published before the log period, clicked in histories only
    shelf_days: int = 2
    impressions_per_user: float = 5.0
    shown_per_impression: int = 15
    history_per_user: float = 10.0
    seed: int = 0


def mind_time(moment: datetime.datetime) -> str:
    """MIND's time format, e.g. ``11/15/2019 8:55:22 AM``."""
    hour = moment.hour % 12 or 12
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {'AM' if moment.hour < 12 else 'PM'}"


class _Articles:
    def __init__(self, config: SyntheticNewsConfig, rng: np.random.Generator):
        names = list(CATEGORIES)
        n = config.articles
        self.category = rng.integers(len(names), size=n)
        self.subcategory = rng.integers(3, size=n)
        self.appeal = rng.normal(0.0, 1.0, n)
        self.popularity = rng.pareto(1.5, n) + 0.1
        archive = rng.random(n) < config.archive_share
        self.day = np.where(archive, -1, rng.integers(0, config.log_days, size=n))
        self.rows = []
        for index in range(n):
            subcategories, words = CATEGORIES[names[self.category[index]]]
            picked = rng.choice(len(words), size=2, replace=False)
            cue = (APPEAL_WORDS if self.appeal[index] + rng.normal(0, 0.7) > 0.5 else PLAIN_WORDS)[index % 4]
            title = f"{cue.title()}: {words[picked[0]]} and {words[picked[1]]} story {index}"
            abstract = f"What the {words[picked[0]]} news in {subcategories[self.subcategory[index]]} means this week."
            self.rows.append([f"N{index}", names[self.category[index]], subcategories[self.subcategory[index]],
                              title, abstract, f"https://example.com/news/{index}", "[]", "[]"])

    def live(self, day: int, shelf_days: int) -> np.ndarray:
        return np.flatnonzero((self.day >= 0) & (self.day <= day) & (self.day > day - shelf_days))


def _behaviors(config: SyntheticNewsConfig, articles: _Articles, rng: np.random.Generator) -> List[tuple]:
    """``(day, row)`` of every impression, users in order."""
    names = len(CATEGORIES)
    archive = np.flatnonzero(articles.day < 0)
    impressions = []
    for user in range(config.users):
        taste = rng.dirichlet(np.full(names, 0.25))
        weights = taste[articles.category[archive]] * articles.popularity[archive]
        size = min(len(archive), 1 + rng.poisson(config.history_per_user))
        history = rng.choice(archive, size=size, replace=False, p=weights / weights.sum())
        for day in np.sort(rng.integers(0, config.log_days, size=1 + rng.poisson(config.impressions_per_user - 1))):
            live = articles.live(int(day), config.shelf_days)
            popularity = articles.popularity[live]
            shown = rng.choice(live, size=min(len(live), config.shown_per_impression), replace=False,
                               p=popularity / popularity.sum())
            utility = 6.0 * taste[articles.category[shown]] + 0.8 * articles.appeal[shown] + rng.normal(0, 0.5, len(shown))
            clicked = utility > 2.5
            clicked[np.argmax(utility)] = True
            moment = START + datetime.timedelta(days=int(day), seconds=int(rng.integers(0, 86_400)))
            labels = " ".join(f"N{article}-{int(click)}" for article, click in zip(shown, clicked))
            impressions.append((int(day), [f"U{user}", mind_time(moment), " ".join(f"N{a}" for a in history), labels]))
    return impressions


def _write_split(folder: Path, news_rows: List[list], impressions: List[tuple]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "news.tsv").write_text("".join("\t".join(row) + "\n" for row in news_rows), encoding="utf-8")
    (folder / "behaviors.tsv").write_text(
        "".join("\t".join([str(n + 1), *row]) + "\n" for n, (_, row) in enumerate(impressions)), encoding="utf-8")
    return folder


def write_mind(config: SyntheticNewsConfig, out: Union[str, Path], pair: bool = False) -> List[Path]:
    """Writes the data set under ``out``; returns its split folders (one, or train and dev)."""
    rng = np.random.default_rng(config.seed)
    articles = _Articles(config, rng)
    impressions = _behaviors(config, articles, rng)
    out = Path(out)
    if not pair:
        return [_write_split(out, articles.rows, impressions)]
    last = config.log_days - 1
    return [_write_split(out / "MINDsynthetic_train", articles.rows, [i for i in impressions if i[0] < last]),
            _write_split(out / "MINDsynthetic_dev", articles.rows, [i for i in impressions if i[0] == last])]
