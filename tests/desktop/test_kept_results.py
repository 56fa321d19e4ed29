"""Results outlive the window: quitting with unsaved ones asks, and the queue comes back with
its results after a relaunch (kept in the cache dir, bounded)."""
from __future__ import annotations

import json

import numpy as np


def restore(page, item, model, qtbot, images, scale=0):
    assert page.picker.select(model)
    page.options.scale.setCurrentIndex(page.options.scale.findData(scale))
    page.run_items([item])
    assert images.wait_status(qtbot, item) == "done", item.error


def index_rows():
    from desktop.restore import kept

    return json.loads((kept.folder() / kept.INDEX).read_text(encoding="utf-8"))["rows"]


def test_quitting_with_unsaved_results_asks_first(make_window, answers, tiny_png, images, qtbot,
                                                   tmp_path):
    window = make_window()
    page = window.restore_page
    item = page.add_paths([tiny_png])[0]
    restore(page, item, "bicubic", qtbot, images)
    answers.yes = False
    assert not window.close()
    assert window.isVisible() and len(answers.asked) == 1
    assert "not saved" in answers.asked[0][1] and "tiny.png" in answers.asked[0][1]
    with qtbot.waitSignal(window.bridge.saved, timeout=10000):
        page.save_current(str(tmp_path / "out.png"))
    assert page.unsaved() == []
    assert window.close()                                # saved: nothing to ask
    assert len(answers.asked) == 1


def test_the_queue_comes_back_with_its_results(make_window, tmp_path, images, qtbot):
    a = images.write_png(tmp_path / "a.png", images.gradient(16, 24, 4), bit_depth=16)
    b = images.write_png(tmp_path / "b.png", images.gradient(8, 8))
    first = make_window()
    page = first.restore_page
    row_a, row_b = page.add_paths([a, b])
    restore(page, row_a, "bicubic", qtbot, images, scale=2)
    again = page.add_paths([a])[0]                      # a second model on the same picture
    restore(page, again, "lanczos", qtbot, images, scale=2)
    results = [row_a.result.pixels, again.result.pixels]
    qtbot.waitUntil(lambda: all(i.kept and "size" in i.kept for i in (row_a, again)), timeout=10000)
    assert first.close()
    rows = index_rows()
    assert [r["path"] for r in rows] == [str(a), str(b), str(a)]
    assert rows[1]["result"] is None and rows[0]["result"]["model"] == row_a.result.model

    second = make_window()
    page = second.restore_page
    items = page.queue.items
    assert [i.path for i in items] == [str(a), str(b), str(a)]
    qtbot.waitUntil(lambda: items[0].status == "done" and items[2].status == "done", timeout=10000)
    assert items[1].status == "ready" and items[1].result is None
    for item, pixels in zip((items[0], items[2]), results):
        assert item.result.pixels.shape == pixels.shape == (32, 48, 4)
        assert np.allclose(item.result.pixels, pixels, atol=0.5 / 65535 + 1e-7)
        assert item.result.image.info.bit_depth == 16        # Save writes 16-bit again
        assert "last session" in item.detail
    assert page.unsaved() == items[0:1] + items[2:3]
    page.queue_view.select_item(items[2])
    assert page.viewer.has_result() and page.viewer.compare_box.count() == 2
    page.remove(items[0])                                # gone from the queue: gone from the cache
    second.save_state()
    qtbot.waitUntil(lambda: len([r for r in index_rows() if r["result"]]) == 1, timeout=10000)
    from desktop.restore import kept

    qtbot.waitUntil(lambda: len(list(kept.folder().glob("*.npy"))) == 1, timeout=10000)


def test_a_saved_result_does_not_ask_after_a_relaunch(make_window, answers, tiny_png, images,
                                                      qtbot, tmp_path):
    first = make_window()
    page = first.restore_page
    item = page.add_paths([tiny_png])[0]
    restore(page, item, "bicubic", qtbot, images)
    with qtbot.waitSignal(first.bridge.saved, timeout=10000):
        page.save_current(str(tmp_path / "out.png"))
    assert first.close() and answers.asked == []
    second = make_window()
    back = second.restore_page.queue.items[0]
    qtbot.waitUntil(lambda: back.status == "done", timeout=10000)
    assert back.saved_to == str(tmp_path / "out.png")
    assert second.close() and answers.asked == []


def test_a_changed_picture_does_not_get_its_old_result(make_window, tiny_png, images, qtbot):
    first = make_window()
    page = first.restore_page
    item = page.add_paths([tiny_png])[0]
    restore(page, item, "bicubic", qtbot, images)
    qtbot.waitUntil(lambda: item.kept and "size" in item.kept, timeout=10000)
    assert first.close()
    images.write_png(tiny_png, images.gradient(20, 20))  # edited meanwhile
    second = make_window()
    back = second.restore_page.queue.items[0]
    qtbot.waitUntil(lambda: not second.restore_page._bringing_back, timeout=10000)
    assert back.status == "ready" and back.result is None


def test_the_cache_is_bounded(make_window, tmp_path, images, qtbot, monkeypatch):
    from desktop.restore import kept

    paths = [images.write_png(tmp_path / f"{n}.png", images.gradient(32, 32)) for n in "abc"]
    window = make_window()
    page = window.restore_page
    items = page.add_paths(paths)
    for item in items:
        restore(page, item, "bicubic", qtbot, images)
    qtbot.waitUntil(lambda: all(i.kept and "size" in i.kept for i in items), timeout=10000)
    one = items[0].kept["bytes"]
    monkeypatch.setattr(kept, "MAX_BYTES", 2 * one + one // 2)   # room for two
    window.save_state()
    qtbot.waitUntil(lambda: len(list(kept.folder().glob("*.npy"))) == 2, timeout=10000)
    rows = index_rows()
    assert [bool(r["result"]) for r in rows] == [False, True, True]   # the oldest went first
    assert not list(kept.folder().glob("*.part*")), "no temporary files left behind"
