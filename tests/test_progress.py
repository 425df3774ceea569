"""The progress utility: rate-limited plain lines on a pipe, a bar on a terminal, silencing."""

from __future__ import annotations

import io
import re

import pytest

from repalign import _progress
from repalign._progress import format_duration, progress, set_quiet


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(_progress, "_monotonic", fake)
    monkeypatch.delenv(_progress.MODE_ENV, raising=False)
    monkeypatch.delenv(_progress.INTERVAL_ENV, raising=False)
    return fake


@pytest.fixture(autouse=True)
def _not_quiet():
    set_quiet(False)
    yield
    set_quiet(False)


def test_pipe_lines_are_rate_limited_and_final_line_printed(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(total=100, desc="boot", unit="sample", stream=out, interval=5)
    for _ in range(100):  # one item per second: 100 s in all
        clock.now += 1
        bar.update()
    bar.close()
    lines = out.getvalue().splitlines()
    # one line every 5 s (at 5, 10, ..., 95 s; the 100th second is the final line) + final
    assert len(lines) == 20
    assert lines[0] == "boot: 5/100 (5%), 1 sample/s, ETA 1:35"
    assert lines[-2] == "boot: 95/100 (95%), 1 sample/s, ETA 0:05"
    assert lines[-1] == "boot: 100/100 (100%) done in 1:40, 1 sample/s"


def test_eta_follows_the_rate(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(total=40, desc="fits", stream=out, interval=0)
    clock.now += 30  # 10 fits took 30 s: 30 left take 90 s
    bar.update(10)
    assert out.getvalue().splitlines()[-1] == "fits: 10/40 (25%), 3 s/it, ETA 1:30"


def test_final_line_printed_even_without_intermediate_lines(clock: FakeClock) -> None:
    out = io.StringIO()
    with progress(total=3, desc="x", stream=out, interval=60) as bar:
        for _ in range(3):
            clock.now += 2
            bar.update()
    assert out.getvalue().splitlines() == ["x: 3/3 (100%) done in 0:06, 2 s/it"]


def test_quick_steps_print_nothing(clock: FakeClock) -> None:
    out = io.StringIO()
    with progress(total=3, stream=out, interval=5) as bar:
        clock.now += 0.2
        bar.update(3)
    assert out.getvalue() == ""


def test_unknown_total_and_step(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(desc="units", unit="unit", stream=out, interval=1)
    bar.step("extract")
    clock.now += 2
    bar.update(4)
    assert out.getvalue().splitlines()[-1] == "units: 4 unit, 2 unit/s [extract]"
    bar.set_description("study")
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("study: 4 unit done in 0:02")


def test_iterator_counts_each_item_and_closes_on_break(clock: FakeClock) -> None:
    out = io.StringIO()
    seen = []
    for item in progress(range(10), desc="it", stream=out, interval=0):
        clock.now += 1
        seen.append(item)
        if item == 4:
            break
    assert seen == [0, 1, 2, 3, 4]
    lines = out.getvalue().splitlines()
    assert lines[-1].startswith("it: 4/10 (40%) done in")  # the 5th item was never finished


def test_quiet_and_enabled_false_silence(clock: FakeClock) -> None:
    out = io.StringIO()
    with progress(total=2, stream=out, interval=0, enabled=False) as bar:
        clock.now += 10
        bar.update(2)
    set_quiet(True)
    with progress(total=2, stream=out, interval=0) as bar:
        clock.now += 10
        bar.update(2)
    assert out.getvalue() == ""
    with progress(total=2, stream=out, interval=0, enabled=True) as bar:  # explicit wins over -q
        clock.now += 10
        bar.update(2)
    assert out.getvalue().count("\n") >= 1


def test_env_interval_and_mode(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(_progress.INTERVAL_ENV, "0")
    out = io.StringIO()
    bar = progress(total=3, stream=out)
    clock.now += 1
    bar.update()
    assert bar.interval == 0 and out.getvalue().count("\n") == 1
    monkeypatch.setenv(_progress.MODE_ENV, "off")
    out2 = io.StringIO()
    with progress(total=3, stream=out2) as bar:
        clock.now += 10
        bar.update(3)
    assert out2.getvalue() == ""


def test_bad_env_interval_warns_and_falls_back(clock, monkeypatch, capsys) -> None:
    monkeypatch.setenv(_progress.INTERVAL_ENV, "soon")
    bar = progress(total=1, stream=io.StringIO())
    assert bar.interval == _progress.DEFAULT_INTERVAL
    assert "ignoring REPALIGN_PROGRESS_INTERVAL='soon'" in capsys.readouterr().err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_gets_a_tqdm_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    monkeypatch.delenv(_progress.MODE_ENV, raising=False)
    out = _Tty()
    with progress(total=5, desc="images", stream=out, delay=0) as bar:
        bar.step("forward")
        bar.update(5)
    assert bar.mode == "bar"
    text = out.getvalue()
    assert "images" in text and "5/5" in text and "\r" in text


def test_terminal_without_tqdm_falls_back_to_lines(clock, monkeypatch) -> None:
    monkeypatch.setattr(_progress, "_tqdm_class", lambda: None)
    out = _Tty()
    with progress(total=2, desc="d", stream=out, interval=0) as bar:
        clock.now += 1
        bar.update(2)
    assert bar.mode == "plain"
    assert re.match(r"d: 2/2 \(100%\)", out.getvalue())


def test_update_from_threads_counts_everything(clock: FakeClock) -> None:
    import threading

    bar = progress(total=4000, stream=io.StringIO(), interval=0)
    threads = [threading.Thread(target=lambda: [bar.update() for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bar.n == 4000


def test_format_duration() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(59.6) == "1:00"
    assert format_duration(-1) == "?"


def test_bytes_are_shown_in_binary_units(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(total=100 * 2**20, desc="hashing w.bin", unit="B", stream=out, interval=0)
    clock.now += 2
    bar.update(50 * 2**20)
    assert out.getvalue().splitlines()[-1] == "hashing w.bin: 50.0 MiB/100.0 MiB (50%), 25.0 MiB/s, ETA 0:02"


def test_fast_rates_are_whole_numbers(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(total=20000, desc="hashing stimuli", unit="file", stream=out, interval=0)
    clock.now += 1.0
    bar.update(9477)
    assert out.getvalue().splitlines()[-1] == "hashing stimuli: 9477/20000 (47%), 9477 file/s, ETA 0:01"


def test_hashing_many_stimuli_shows_one_progress(tmp_path, monkeypatch, capsys) -> None:
    from repalign.models.stimuli import image_stimuli

    for i in range(30):
        (tmp_path / f"img{i:02d}.png").write_bytes(b"\x89PNG" + bytes([i]))
    monkeypatch.setenv(_progress.MODE_ENV, "plain")
    monkeypatch.setenv(_progress.INTERVAL_ENV, "0")
    image_stimuli(tmp_path).fingerprint()
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("hashing")]
    assert lines[-1].startswith("hashing stimuli: 30/30 (100%) done in") and len(lines) <= 31
    assert not any(line.startswith("hashing img") for line in lines)  # not one display per small file


def test_fractional_counts_show_whole_items_and_never_pass_the_total(clock: FakeClock) -> None:
    # the neural heads advance by a fraction of a fit per epoch; 27 steps of 8/27 sum past 8 in floats
    out = io.StringIO()
    bar = progress(total=8, desc="few-shot fits", unit="fit", stream=out, interval=0)
    for _ in range(26):
        clock.now += 0.1
        bar.update(8 / 27)
    assert out.getvalue().splitlines()[-1].startswith("few-shot fits: 7/8 (96%)")  # not 7.7/8
    bar.update(8 / 27 - 0.01)  # 7.99 of 8: neither the count nor the percentage says finished
    assert out.getvalue().splitlines()[-1].startswith("few-shot fits: 7/8 (99%)")
    for _ in range(5):
        bar.update(8 / 27)
    assert bar.n == 8
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("few-shot fits: 8/8 (100%) done in")


def test_fractional_counts_on_a_terminal_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("tqdm")
    import warnings

    monkeypatch.delenv(_progress.MODE_ENV, raising=False)
    out = _Tty()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm's "clamping frac to range [0, 1]" when n passes total
        with progress(total=8, desc="few-shot fits", unit="fit", stream=out, delay=0) as bar:
            for _ in range(40):
                bar.update(8 / 27)
    text = out.getvalue()
    assert "8/8" in text and not re.search(r"\d\.\d{3,}/8", text), text


def test_a_terminal_that_reports_zero_columns_still_gets_a_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    # `script`, `docker exec -t` and some CI runners give a pty of size 0x0: tqdm then drew nothing
    pytest.importorskip("tqdm")
    monkeypatch.delenv(_progress.MODE_ENV, raising=False)
    monkeypatch.setattr(_progress, "_terminal_columns", lambda stream: 0)
    out = _Tty()
    with progress(total=5, desc="images", stream=out, delay=0) as bar:
        bar.update(5)
    assert "images" in out.getvalue() and "5/5" in out.getvalue()


def test_counted_agrees_in_number():
    from repalign._text import counted

    assert [counted(n, "unit") for n in (0, 1, 2)] == ["0 units", "1 unit", "2 units"]
    assert counted(1, "family", "families") == "1 family"
    assert counted(3, "family", "families") == "3 families"


def test_float_steps_that_sum_just_below_the_total_read_as_finished(clock: FakeClock) -> None:
    out = io.StringIO()
    bar = progress(total=2, desc="fits", unit="fit", stream=out, interval=0)
    for _ in range(10):
        bar.update(0.2)  # 1.9999999999999998 in floats
    bar.close()
    assert out.getvalue().splitlines()[-1].startswith("fits: 2/2 (100%) done in")
