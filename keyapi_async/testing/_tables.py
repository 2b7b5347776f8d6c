"""Static vocabularies the generated dataset draws from."""

from __future__ import annotations

from typing import Final

# (region, cumulative probability); US stays the majority as in the real data.
REGIONS: Final = (("US", 0.62), ("GB", 0.72), ("MY", 0.81), ("ID", 0.90), ("DE", 1.0))
LANGUAGES: Final = {
    "US": ("en", "en", "en", "es"),
    "GB": ("en",),
    "MY": ("ms", "ms", "en"),
    "ID": ("id",),
    "DE": ("de", "de", "en"),
}
CATEGORIES: Final = ("Beauty", "Fashion", "Food", "Tech", "Games", "Other")
GENDERS: Final = ("male", "female", "")
# sales_flag values with cumulative probability.
SALES_FLAGS: Final = ((0, 0.5), (1, 0.65), (2, 0.75), (3, 0.85), (4, 1.0))

FIRST: Final = (
    "Hannah", "Liam", "Aisyah", "Budi", "Jonas", "Mia", "Noah", "Siti", "Emma", "Ava",
    "Lucas", "Putri", "Felix", "Chloe", "Ethan", "Nur", "Lena", "Mason", "Zara", "Leo",
)  # fmt: skip
LAST: Final = (
    "Culver", "Smith", "Rahman", "Santoso", "Müller", "Brown", "Lee", "Tan", "Wright",
    "Garcia", "Schmidt", "Wijaya", "Taylor", "Lim", "Evans", "Hoffmann", "Clark", "Ng",
)  # fmt: skip
SIGNATURES: Final = (
    "",
    "",
    "Jesus Loves You",
    "📩 collabs via email",
    "daily vlogs ✨",
    "Link in bio 👇",
    "mum of 3 | skincare",
    "Gamer. Streamer. Snack enthusiast 🍕",
)
VIDEO_DESCS: Final = (
    "memang best weh ! skin nampak lebih fresh bila pakai 🤪 #faceglow #facespray",
    "GRWM for date night 💄 #grwm #makeup",
    "this hack changed my kitchen forever #cooking #foodtok",
    "unboxing the new phone 📱 #tech #unboxing",
    "ranked grind continues 🎮 #gaming",
    "outfit check 👗 #ootd #fashion",
    "",
    "part 2 🙏",
)
LIVE_TITLES: Final = (
    "NEW FREEBIES!!!",
    "Flash sale 🔥 everything 50% off",
    "Q&A + giveaway",
    "late night gaming",
    "",
)
RATIOS: Final = (("540p", 1024, 576), ("720p", 1280, 720), ("1080p", 1920, 1080))

DURATION_KEYS: Final = ("2m", "1m-2m", "30s-60s", "15s-30s", "15s")
HOUR_KEYS: Final = tuple(f"{h:02d}" for h in range(24))
WEEK_KEYS: Final = tuple(str(d) for d in range(1, 8))

# Level-1 product categories; level-2/3 ids derive from the index (see product_tree).
PRODUCT_L1: Final = (
    ("601450", "Beauty & Personal Care"),
    ("601152", "Womenswear & Underwear"),
    ("605248", "Phones & Electronics"),
    ("700645", "Food & Beverages"),
    ("601739", "Home Supplies"),
    ("603014", "Sports & Outdoor"),
    ("824328", "Fashion Accessories"),
)


def product_tree() -> tuple[tuple[str, str, str], ...]:
    """Every (l1, l2, l3) id triple: three level-2 ids per level 1, three level-3 each."""
    triples = []
    for i, (l1, _) in enumerate(PRODUCT_L1):
        for j in range(3):
            l2 = str(840000 + i * 128 + j * 8)
            for k in range(3):
                triples.append((l1, l2, str(870000 + i * 1024 + j * 64 + k)))
    return tuple(triples)


PRODUCT_TRIPLES: Final = product_tree()
PRODUCT_NAMES: Final = dict(PRODUCT_L1)
