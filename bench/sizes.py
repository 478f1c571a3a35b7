"""Size presets: how many generated stocks, over how many years of sessions."""

from dataclasses import dataclass
from datetime import date

# A fixed last session keeps every run of the benchmark on the same data. The sample
# market starts on 2000-01-03, so "30 years" is capped at the 26.9 years it has.
END_DATE = date(2026, 11, 20)
SAMPLE_EPOCH = date(2000, 1, 3)
FULL_ROWS = 3036 * 6768  # the full size: 3,000 stocks + 36 instruments, every session


@dataclass(frozen=True)
class Size:
    name: str
    stocks: int
    years: float
    repeat: int
    # whether `make bench` also builds this size on Spark (once: 1-3 minutes a build here)
    spark: bool = False

    @property
    def start(self) -> date:
        days = round(self.years * 365.25)
        start = date.fromordinal(END_DATE.toordinal() - days)
        return max(start, SAMPLE_EPOCH)


SIZES: dict[str, Size] = {
    "tiny": Size("tiny", stocks=12, years=2.0, repeat=1),
    "small": Size("small", stocks=20, years=10.0, repeat=3, spark=True),
    "medium": Size("medium", stocks=100, years=30.0, repeat=3, spark=True),
    "large": Size("large", stocks=300, years=30.0, repeat=2),
    "full": Size("full", stocks=3000, years=30.0, repeat=1),
}
