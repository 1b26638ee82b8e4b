"""A seeded synthetic population of elders for the demonstration city (issue: demo population).

`elders_generate` spreads `count` elders over the communities loaded under `root`, with the shape of
a real Chinese 60+ population: the age pyramid and sex ratios of the 2020 census, marriage, children,
living arrangement, economic status, disability certificates, 计划生育特殊家庭 and dementia in published
or (where marked) assumed shares. Every ID number is a valid GB 11643 number whose address code is the
elder's district, unique in the whole registry.

Set-based (DESIGN.md rule 7): columns are drawn with numpy for the whole run at once, then written in
batches of raw rows (`executemany` on SQLite, COPY on PostgreSQL), each batch in its own transaction.
Only what cannot be vectorised runs per value: AES-GCM encryption and the keyed lookup hash (core.crypto)
and the check character (core.idcard). A million elders take well under two minutes on two cores
(bench/bench_generate_elders.py).

Deterministic: the same seed over the same communities draws the same people. A second run with the
same seed continues the ID sequence numbers after the elders already registered on each district and
birth date, so it adds new elders and never collides; any remaining collision (an imported elder who
happens to hold the number) is found through the lookup hash and skipped to the next free number.

Layout: shape.py (the shares and their sources, names, mobile prefixes), places.py (communities,
weights, map positions), population.py (the seeded columnar draw), idnumbers.py (sequence numbers
and the repair of collisions), writing.py (columns and raw batched inserts), generate.py
(elders_generate, elders_under, demo_population).
"""

from yanglao.registry.generator.generate import (  # noqa: F401
    Progress,
    demo_population,
    elders_generate,
    elders_under,
)
from yanglao.registry.generator.idnumbers import (  # noqa: F401
    SEQUENCE_CAPACITY,
    sequence_numbers,
)
from yanglao.registry.generator.places import (  # noqa: F401
    Places,
    places_under,
)
from yanglao.registry.generator.population import (  # noqa: F401
    DISABILITY_CODES,
    ECONOMIC_CODES,
    LIVING,
    MARITAL,
    Population,
    population_draw,
)
from yanglao.registry.generator.shape import (  # noqa: F401
    AGE_BANDS,
    ALONE_GUGUA,
    ALONE_WITHOUT_SPOUSE,
    CHILDREN,
    COUPLED,
    DEMENTIA_BY_DECADE,
    DESTITUTE_GUGUA,
    DESTITUTE_OTHER,
    DISABILITY_BY_DECADE,
    DISABILITY_CATEGORY,
    DISABILITY_GRADE,
    DISTRICT_POPULATION,
    DIVORCED,
    ECONOMIC,
    EMPTY_NEST_COUPLE,
    EMPTY_NEST_MARRIED_SINGLE,
    FEMALE_NAMES,
    HOME_JITTER_KM,
    HUKOU_ELSEWHERE,
    LEFT_BEHIND_RURAL,
    MALE_NAMES,
    MARRIED,
    MARRIED_SEX_GAP,
    MOBILE_BY_DECADE,
    MOBILE_PREFIXES,
    RADIUS_RURAL_KM,
    RADIUS_URBAN_KM,
    RURAL_HARDSHIP,
    SEX_RATIO,
    SPECIAL_FAMILY_CHILD_DIED,
    SPECIAL_FAMILY_OF_ONE_CHILD,
    SURNAME_TOP,
    SURNAMES,
    UNMARRIED,
    UNMARRIED_CHILDLESS,
    URBAN_WEIGHT,
)
from yanglao.registry.generator.writing import (  # noqa: F401
    HOUSEHOLD_NOTE,
)
