"""load_universe: the shipped seeds and the errors a bad seed row raises."""

import shutil

import pytest

from ingestion.paths import SEEDS_DIR
from ingestion.universe import UniverseError, load_universe

INDEXES = {"RUT", "IXIC", "NDX", "SPX"}
INDEX_ETFS = {"IWM", "QQQ", "SPY", "ONEQ", "RSP"}
SECTOR_ETFS = {"XLK", "XLF", "XLI", "XLE", "XLY", "XLV", "XLP", "XLU", "XLB", "XLRE", "XLC"}
STOCKS = {
    "AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "META", "AVGO",
    "ORCL", "AMD", "JPM", "BAC", "CSCO", "TXRH", "ANF", "PARR",
}  # fmt: skip
PAIRS = {
    "rut_vs_ixic": ("RUT", "IXIC"),
    "rut_vs_ndx": ("RUT", "NDX"),
    "rut_vs_spx": ("RUT", "SPX"),
    "iwm_vs_qqq": ("IWM", "QQQ"),
    "rsp_vs_spy": ("RSP", "SPY"),
    "rut_vs_mag7": ("RUT", "mag7"),
}
MAG7 = ("AAPL", "MSFT", "GOOGL", "AMZN", "NVDA", "TSLA", "META")


@pytest.fixture(scope="module")
def shipped():
    return load_universe()


def test_instruments_by_kind(shipped):
    by_kind = {}
    for item in shipped.instruments:
        by_kind.setdefault(item.kind, set()).add(item.symbol)
    assert by_kind == {
        "index": INDEXES,
        "etf": INDEX_ETFS | SECTOR_ETFS,
        "stock": STOCKS,
    }
    assert len(shipped.symbols) == len(set(shipped.symbols)) == 36


def test_sector_etfs(shipped):
    sectors = {i.symbol for i in shipped.instruments if i.role == "sector"}
    assert sectors == SECTOR_ETFS
    for symbol in SECTOR_ETFS:
        item = shipped.instrument(symbol)
        assert item.sector, symbol
        assert item.style in {"cyclical", "defensive", "growth"}, symbol
    assert shipped.instrument("XLK").sector == "Information Technology"
    assert shipped.instrument("XLK").style == "growth"
    assert shipped.instrument("XLU").style == "defensive"
    assert shipped.instrument("XLF").style == "cyclical"
    # one ETF per sector
    assert len({shipped.instrument(s).sector for s in SECTOR_ETFS}) == len(SECTOR_ETFS)


def test_roles_and_benchmarks(shipped):
    assert shipped.instrument("RUT").role == "small_cap"
    assert shipped.instrument("SPX").role == "large_cap"
    assert shipped.instrument("RSP").role == "equal_weight"
    assert shipped.instrument("IWM").benchmark_symbol == "RUT"
    assert shipped.instrument("QQQ").benchmark_symbol == "NDX"
    assert shipped.instrument("SPY").benchmark_symbol == "SPX"
    assert shipped.instrument("ONEQ").benchmark_symbol == "IXIC"
    for symbol in INDEXES:
        assert shipped.instrument(symbol).benchmark_symbol is None
        assert shipped.instrument(symbol).sector is None
    known = set(shipped.symbols)
    for item in shipped.instruments:
        assert item.benchmark_symbol is None or item.benchmark_symbol in known, item.symbol


def test_pairs(shipped):
    assert {p.pair_id: (p.long_symbol, p.short_symbol) for p in shipped.pairs} == PAIRS


def test_baskets(shipped):
    (mag7,) = shipped.baskets
    assert mag7.basket_id == "mag7"
    assert mag7.members == MAG7
    assert "Magnificent 7" in mag7.description


def test_rate_series(shipped):
    assert shipped.series_ids == ["DFEDTARL", "DFEDTARU", "DFF", "DGS2", "DGS10"]
    frequencies = {s.series_id: s.frequency for s in shipped.rate_series}
    assert frequencies["DFF"] == "daily"
    assert frequencies["DGS10"] == "business_daily"
    assert all(s.codes["sample"] == s.series_id for s in shipped.rate_series)


def test_estimate_universes(shipped):
    assert set(shipped.universe_names) == {"russell_2000", "sp500", "nasdaq_100"}
    benchmarks = {u.universe: u.benchmark_symbol for u in shipped.estimate_universes}
    assert benchmarks == {"russell_2000": "RUT", "sp500": "SPX", "nasdaq_100": "NDX"}


def test_every_instrument_has_a_sample_code(shipped):
    for item in shipped.instruments:
        assert item.code_for("sample") == item.symbol


def test_provider_codes(shipped):
    yahoo = {s: shipped.instrument(s).code_for("yahoo") for s in INDEXES}
    assert yahoo == {"RUT": "^RUT", "IXIC": "^IXIC", "NDX": "^NDX", "SPX": "^GSPC"}
    assert shipped.instrument("SPY").code_for("stooq") == "SPY.US"
    # Tiingo does not serve indexes: the empty code is absent, not ""
    assert shipped.instrument("SPX").code_for("tiingo") is None
    assert "tiingo" not in shipped.instrument("SPX").codes
    assert shipped.instrument("SPY").code_for("tiingo") == "SPY"
    assert shipped.instrument("SPY").code_for("nonexistent") is None


def test_unknown_symbol_lookup(shipped):
    with pytest.raises(KeyError, match="NOPE"):
        shipped.instrument("NOPE")


# -- bad seeds --------------------------------------------------------------------------
@pytest.fixture
def seeds(tmp_path):
    target = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, target)
    return target


def _replace(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line_of(path, prefix):
    """1-based line number of the line starting with prefix (the header is line 1)."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(prefix):
            return number
    raise AssertionError(prefix)


def test_copied_seeds_load(seeds):
    assert load_universe(seeds) == load_universe()


def test_pair_leg_not_an_instrument(seeds):
    path = seeds / "pairs.csv"
    line = _line_of(path, "rut_vs_spx,")
    assert line == 4
    _replace(path, "rut_vs_spx,RUT,SPX,", "rut_vs_spx,RUT,SPXX,")
    with pytest.raises(UniverseError) as info:
        load_universe(seeds)
    message = str(info.value)
    assert f"pairs.csv line {line}" in message
    assert "'SPXX'" in message
    assert "short_symbol" in message


def test_long_leg_not_an_instrument(seeds):
    path = seeds / "pairs.csv"
    _replace(path, "iwm_vs_qqq,IWM,QQQ,", "iwm_vs_qqq,VTWO,QQQ,")
    with pytest.raises(UniverseError, match=r"pairs\.csv line 5: long_symbol 'VTWO'"):
        load_universe(seeds)


@pytest.mark.parametrize("bad", ["RUT';DROP", 'RU"T', "RUT;", "rut", "RUT X", "-RUT"])
def test_invalid_symbol(seeds, bad):
    path = seeds / "instruments.csv"
    line = _line_of(path, "RUT,")
    assert line == 2
    text = path.read_text(encoding="utf-8")
    # write the field as CSV would, so the bad symbol is read back verbatim
    field = '"' + bad.replace('"', '""') + '"'
    path.write_text(text.replace("\nRUT,", f"\n{field},", 1), encoding="utf-8")
    with pytest.raises(UniverseError) as info:
        load_universe(seeds)
    message = str(info.value)
    assert f"instruments.csv line {line}" in message
    assert repr(bad) in message


def test_symbol_on_a_later_line(seeds):
    path = seeds / "instruments.csv"
    line = _line_of(path, "TSLA,")
    _replace(path, "\nTSLA,", "\nTS;LA,")
    with pytest.raises(UniverseError, match=rf"instruments\.csv line {line}: symbol 'TS;LA'"):
        load_universe(seeds)


def test_bad_kind(seeds):
    path = seeds / "instruments.csv"
    line = _line_of(path, "NDX,")
    _replace(path, "NDX,Nasdaq-100 Index,index,", "NDX,Nasdaq-100 Index,fund,")
    with pytest.raises(UniverseError) as info:
        load_universe(seeds)
    message = str(info.value)
    assert f"instruments.csv line {line}" in message
    assert "kind 'fund'" in message


def test_bad_role_and_style(seeds):
    path = seeds / "instruments.csv"
    _replace(path, ",etf,sector,Utilities,defensive,", ",etf,sector,Utilities,boring,")
    with pytest.raises(UniverseError, match=r"instruments\.csv line \d+: style 'boring'"):
        load_universe(seeds)


def test_bad_series_id_and_universe(tmp_path):
    first = tmp_path / "a"
    shutil.copytree(SEEDS_DIR, first)
    _replace(first / "rate_series.csv", "\nDGS10,", "\nDGS 10,")
    with pytest.raises(UniverseError, match=r"rate_series\.csv line 6: series_id 'DGS 10'"):
        load_universe(first)
    second = tmp_path / "b"
    shutil.copytree(SEEDS_DIR, second)
    _replace(second / "estimate_universes.csv", "\nsp500,", "\nS&P500,")
    with pytest.raises(UniverseError, match=r"estimate_universes\.csv line 3: universe 'S&P500'"):
        load_universe(second)


def test_basket_id_that_is_a_symbol_names_the_row(seeds):
    path = seeds / "baskets.csv"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("spy,AAPL,\n")
    with pytest.raises(UniverseError) as info:
        load_universe(seeds)
    assert str(info.value) == (
        "baskets.csv line 9: basket_id 'spy' is also the symbol 'SPY' in instruments.csv"
    )


def test_basket_member_not_an_instrument(seeds):
    _replace(seeds / "baskets.csv", "mag7,TSLA,", "mag7,TSLQ,")
    with pytest.raises(UniverseError, match=r"baskets\.csv line 7: symbol 'TSLQ' is not in"):
        load_universe(seeds)


def test_basket_member_listed_twice(seeds):
    _replace(seeds / "baskets.csv", "mag7,TSLA,", "mag7,AAPL,")
    with pytest.raises(UniverseError, match=r"baskets\.csv line 7: 'AAPL' is already in basket"):
        load_universe(seeds)


def test_pair_leg_may_be_a_basket_but_not_an_unknown_one(seeds):
    _replace(seeds / "pairs.csv", "rut_vs_mag7,RUT,mag7,", "rut_vs_mag7,RUT,mag8,")
    with pytest.raises(
        UniverseError,
        match=r"pairs\.csv line 7: short_symbol 'mag8' is neither in instruments\.csv nor a basket",
    ):
        load_universe(seeds)


@pytest.mark.parametrize(
    "name",
    ["instruments.csv", "pairs.csv", "baskets.csv", "rate_series.csv", "estimate_universes.csv"],
)
def test_missing_file(seeds, name):
    (seeds / name).unlink()
    with pytest.raises(UniverseError) as info:
        load_universe(seeds)
    assert name in str(info.value)
    assert "missing" in str(info.value)


def test_duplicate_symbol_names_symbol_and_line(seeds):
    path = seeds / "instruments.csv"
    with path.open("a", encoding="utf-8") as handle:
        handle.write("SPY,Again,etf,large_cap,,,SPX,SPY,SPY,SPY.US,SPY\n")
    with pytest.raises(UniverseError, match=r"instruments\.csv line 38: .*'SPY'"):
        load_universe(seeds)


def test_missing_column_names_the_file(seeds):
    path = seeds / "instruments.csv"
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    kind = rows[0].index("kind")
    path.write_text("\n".join(",".join(r[:kind] + r[kind + 1 :]) for r in rows) + "\n")
    with pytest.raises(UniverseError, match=r"instruments\.csv.*kind"):
        load_universe(seeds)
