"""shop.py - a small shop personalized with libpersonalize.

Shows, in order:
  1. a catalogue and shoppers' behaviour (personalization: learned);
  2. a business rule and a segment (the shop's customization);
  3. one shopper's own choices: block, pin, less (the person's
     customization, which always beats the model);
  4. every reason the engine gives, with what moved each item;
  5. consent, then a data-access export and an erasure.

Run:  PYTHONPATH=bindings/python python3 examples/python/shop.py
(set PERSONALIZE_LIBRARY=/path/to/libpersonalize.so.1 if it is not installed)
"""

import json

import personalize
from personalize import Engine, RecsFlag

NOW = 1_700_000_000_000  # a fixed clock (ms) so the output is reproducible
HOUR = 3_600_000

CONFIG = """
events: {view: 1, add_to_cart: 3, purchase: 5, dislike: -3}
segments:
  - name: big_spenders
    rule: {sum: purchase, gte: 2}
rules:
  - name: summer-sale
    kind: boost
    factor: 1.5
    match: {features: [promo=summer]}
"""

CATALOGUE = {
    "trail-shoes": ["cat=shoes", "sport=running", "brand=acme"],
    "road-shoes": ["cat=shoes", "sport=running", "brand=zoom"],
    "rain-jacket": ["cat=jacket", "sport=hiking", "brand=acme", "promo=summer"],
    "down-jacket": ["cat=jacket", "sport=hiking", "brand=polar"],
    "head-torch": ["cat=gear", "sport=running", "sport=hiking", "brand=acme"],
    "yoga-mat": ["cat=gear", "sport=yoga", "promo=summer"],
    "water-bottle": ["cat=gear", "sport=running", "brand=zoom"],
}

EVENTS = [  # (shopper, item, event, value, hours ago)
    ("ann", "trail-shoes", "purchase", 1, 30),
    ("ann", "head-torch", "view", 1, 20),
    ("ann", "road-shoes", "add_to_cart", 1, 5),
    ("bob", "down-jacket", "purchase", 1, 40),
    ("bob", "rain-jacket", "view", 1, 2),
    ("cleo", "yoga-mat", "purchase", 1, 10),
    ("cleo", "water-bottle", "purchase", 1, 9),
    ("dan", "trail-shoes", "view", 1, 3),
]


def show(engine, user, title):
    print(f"\n{title}")
    for n, rec in enumerate(engine.recommend(user, k=4), 1):
        moved = rec.reason.flags & ~RecsFlag.NONE
        flags = f" [{moved.name or moved}]" if moved else ""
        print(f"  {n}. {rec.item:13} {rec.score:6.3f}  {rec.reason.text}{flags}")


def main():
    with Engine.from_yaml(CONFIG, clock=lambda: NOW) as shop:
        for item, features in CATALOGUE.items():
            shop.put_item(item, features)
        for user, item, event, value, hours_ago in EVENTS:
            shop.track(user, item, event, value, ts=NOW - hours_ago * HOUR)
        shop.set_attribute("ann", "country", "CH")
        shop.set_attribute("ann", "newsletter", True)
        print(f"libpersonalize {personalize.library_version()}: "
              f"{shop.item_count()} items, {shop.profile_count()} shoppers")
        print("cleo is in:", ", ".join(shop.segments_of("cleo")) or "no segment")
        print("ann's top interests:",
              ", ".join(f"{f} ({s:.1f})" for f, s in shop.interests("ann", 3)))

        show(shop, "ann", "ann, learned from behaviour (and the summer-sale rule):")

        # the person's own choices beat the model
        shop.block("ann", item="road-shoes")       # already bought elsewhere
        shop.pin("ann", "yoga-mat", position=0)     # keep it in view
        shop.less("ann", "brand=acme")              # a bit less of this brand
        show(shop, "ann", "ann, after blocking road-shoes, pinning yoga-mat, less brand=acme:")
        print("ann's choices:",
              "; ".join(f"{c.kind.name.lower()} {c.target}" for c in shop.choices("ann")))

        show(shop, "newcomer", "a newcomer (no profile: what is popular):")

        # privacy: consent, access, erasure
        shop.set_consent("dan", "personalization", False)
        try:
            shop.track("dan", "road-shoes", "view")
        except personalize.ConsentError as exc:
            print(f"\ndan withdrew consent; tracking refused: {exc}")
        doc = shop.export("ann")
        print(f"export of ann: {len(doc['events'])} events, "
              f"{len(doc['attributes'])} attributes, {len(doc['choices'])} choices, "
              f"{len(json.dumps(doc))} bytes of JSON")
        shop.erase("ann")
        try:
            shop.export("ann")
        except personalize.NotFound:
            print("ann erased: nothing left to export")
        print("shoppers left:", shop.profile_count())


if __name__ == "__main__":
    main()
