"""The synthetic data set: RecGen's embedded default for ``make run`` and the tests.

It is built so that a model can learn something real from it:

- items belong to 1-3 categories, have a latent quality and Zipf-like popularity, and
  titles and descriptions made of their categories' words;
- each user has two taste vectors over categories and drifts from the first to the
  second across their timeline, and a reviewer "voice" (a persona);
- events come in sessions in time order; inside a session a user tends to stay in
  the category of their previous item (a sequential signal for the history tower);
- the rating follows from taste, item quality and noise; the review text and summary
  follow from the rating, the item's traits and the user's persona and favourite
  category (so the same item gets different words from different users).

It writes the generic CSV format (``events.csv`` and ``items.csv``) and is
deterministic for a seed.

Example:
    >>> config = SyntheticConfig(users=200, items=100, seed=7)
    >>> events, items = generate(config)
    >>> len(items)
    100
    >>> import tempfile
    >>> folder, count = write_generic_csv(config, tempfile.mkdtemp())
    >>> count == len(events), sorted(path.name for path in folder.iterdir())
    (True, ['events.csv', 'items.csv'])
"""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path
from typing import Iterator, List, Tuple, Union

import numpy as np

from recgen.data.canonical import Event, Item
from recgen.progress import RowProgress

# category -> (nouns, traits): words that make titles, descriptions and reviews.
CATEGORIES = {
    "guitar": (("guitar", "strat", "dreadnought"), ("bright", "resonant", "playable")),
    "bass": (("bass", "four-string", "p-bass"), ("punchy", "deep", "growling")),
    "keyboard": (("keyboard", "synth", "stage piano"), ("weighted", "lush", "expressive")),
    "drums": (("drum kit", "snare", "cymbal"), ("crisp", "loud", "tight")),
    "microphone": (("microphone", "condenser", "dynamic mic"), ("clear", "warm", "detailed")),
    "amplifier": (("amp", "combo", "tube head"), ("warm", "loud", "crunchy")),
    "pedal": (("pedal", "overdrive", "delay"), ("quiet", "creamy", "versatile")),
    "strings": (("strings", "string set", "nylon set"), ("bright", "smooth", "durable")),
    "cable": (("cable", "patch cable", "xlr cable"), ("quiet", "sturdy", "flexible")),
    "stand": (("stand", "boom stand", "guitar stand"), ("sturdy", "light", "stable")),
    "recording": (("interface", "monitor", "headphones"), ("accurate", "clean", "detailed")),
    "accessory": (("tuner", "capo", "strap"), ("handy", "accurate", "comfortable")),
}
ADJECTIVES = ("Classic", "Studio", "Vintage", "Pro", "Compact", "Deluxe", "Road", "Smart", "Nova",
              "Iron", "Blue", "Golden")
PERSONAS = (("beginner", "for beginners", "easy to learn on"),
            ("gigging player", "for the stage", "survives every gig"),
            ("home recordist", "for home recording", "sounds great on tape"),
            ("budget buyer", "for the price", "worth every penny"),
            ("collector", "for collectors", "built to last"))
SENTIMENT = {1: ("poor", "I regret buying this"), 2: ("disappointing", "it let me down"),
             3: ("decent", "it does the job"), 4: ("solid", "I am happy with it"),
             5: ("great", "I love it")}
START_TIME = 1_500_000_000  # 2017-07-14, start of the synthetic timeline
DAY = 86_400


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    users: int = 1000
    items: int = 500
    mean_events_per_user: float = 30.0
    zipf_exponent: float = 1.0
    category_stickiness: float = 0.6
    timeline_days: int = 730
    seed: int = 0


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _items(config: SyntheticConfig, rng: np.random.Generator) -> Tuple[List[Item], np.ndarray]:
    names = list(CATEGORIES)
    items, memberships = [], np.zeros((config.items, len(names)), dtype=bool)
    for index in range(config.items):
        chosen = rng.choice(len(names), size=rng.integers(1, 4), replace=False)
        memberships[index, chosen] = True
        nouns, traits = CATEGORIES[names[chosen[0]]]
        noun, trait = nouns[rng.integers(len(nouns))], traits[rng.integers(len(traits))]
        title = f"{ADJECTIVES[rng.integers(len(ADJECTIVES))]} {noun.title()} {100 + index}"
        description = (f"{_article(trait).title()} {trait} {noun} for {PERSONAS[rng.integers(len(PERSONAS))][0]}s, "
                       f"in the {', '.join(names[c] for c in chosen)} range.")
        items.append(Item(f"item_{index:06d}", title, tuple(names[c] for c in chosen), description))
    return items, memberships


def _review(rating: int, item: Item, persona: tuple, favourite: str) -> Tuple[str, str]:
    nouns, traits = CATEGORIES[item.categories[0]]
    word, feeling = SENTIMENT[rating]
    trait = traits[len(item.title) % len(traits)]
    summary = f"{word} {trait} {nouns[0]} {persona[1]}"
    fits = "fits" if rating >= 4 else "does not fit"
    text = (f"{feeling}. The {trait} sound {fits} my {favourite} setup; "
            f"as a {persona[0]} I find it {persona[2] if rating >= 3 else 'hard to recommend'}.")
    return text, summary


def generate_events(config: SyntheticConfig) -> Iterator[Event]:
    """Streams events user by user, each user's events in time order (constant memory per user)."""
    rng = np.random.default_rng(config.seed)
    items, memberships = _items(config, rng)
    n_categories = memberships.shape[1]
    names = list(CATEGORIES)
    popularity = 1.0 / np.arange(1, config.items + 1) ** config.zipf_exponent
    popularity = popularity[rng.permutation(config.items)]
    quality = rng.normal(0.0, 1.0, config.items)
    per_category = [np.flatnonzero(memberships[:, c]) for c in range(n_categories)]
    cumulative = [np.cumsum(popularity[members]) for members in per_category]
    for user in range(config.users):
        start_taste, end_taste = rng.dirichlet(np.full(n_categories, 0.3), size=2)
        persona = PERSONAS[rng.integers(len(PERSONAS))]
        favourite = names[int(np.argmax(start_taste))]
        count = 3 + rng.poisson(max(config.mean_events_per_user - 3, 0))
        gaps = np.where(rng.random(count) < 0.25, rng.exponential(5 * DAY, count),
                        rng.exponential(600, count))  # new session vs. next item in a session
        times = START_TIME + int(rng.integers(0, config.timeline_days * DAY // 2)) + np.cumsum(gaps)
        category = None
        for step in range(count):
            drift = step / max(count - 1, 1)
            taste = (1 - drift) * start_taste + drift * end_taste
            if category is None or rng.random() >= config.category_stickiness:
                category = int(rng.choice(n_categories, p=taste / taste.sum()))
            weights = cumulative[category]
            if len(weights) == 0:
                category = None
                continue
            index = per_category[category][np.searchsorted(weights, rng.random() * weights[-1])]
            affinity = float(taste[memberships[index]].sum()) * n_categories / 3.0
            score = 3.0 + 0.8 * (affinity - 1.0) + 0.6 * quality[index] + rng.normal(0, 0.6)
            rating = int(np.clip(np.rint(score), 1, 5))
            text, summary = _review(rating, items[index], persona, favourite)
            yield Event(f"user_{user:06d}", items[index].item_id, int(times[step]), float(rating),
                        text, summary)


def generate(config: SyntheticConfig) -> Tuple[List[Event], List[Item]]:
    """The whole data set in memory; for tests and small sizes."""
    return list(generate_events(config)), _items(config, np.random.default_rng(config.seed))[0]


def write_generic_csv(config: SyntheticConfig, out: Union[str, Path],
                      show_progress: bool = False) -> Tuple[Path, int]:
    """Writes ``events.csv`` and ``items.csv`` into ``out``; returns the folder and the event count."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = _items(config, np.random.default_rng(config.seed))[0]
    with open(out / "items.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["item_id", "title", "categories", "description"])
        writer.writerows([i.item_id, i.title, "|".join(i.categories), i.description] for i in items)
    progress = RowProgress("generating synthetic events", enabled=show_progress)
    count = 0
    with open(out / "events.csv", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        columns = ("user_id", "item_id", "timestamp", "rating", "text", "summary")
        writer.writerow(columns)
        for event in generate_events(config):
            writer.writerow(event[:len(columns)])
            count += 1
            progress.update(count)
    progress.done(count)
    return out, count
