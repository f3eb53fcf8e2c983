"""The result grid with 100k photos: time to show them, jump/scroll, cut by relevance, zoom one
column, and lay out a browse with month headers (against the uniform grid), GUI thread only.

Synthetic hits (paths that do not exist, so thumbnail loads fail fast and only the view's own
cost is measured), offscreen Qt.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py [--photos 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, percentiles, write_result
from PySide6.QtWidgets import QApplication

from photoclip.core.search.searcher import Hit
from photoclip.gui.results_grid import ResultsModel, ResultsView
from photoclip.gui.thumbnails import ThumbnailCache


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    args = ap.parse_args()
    app = QApplication(sys.argv[:1])
    thumbs = ThumbnailCache(OUT / "gui-thumbs")
    model = ResultsModel(thumbs)
    view = ResultsView(192)
    view.setModel(model)
    view.resize(1280, 800)
    view.show()
    app.processEvents()
    hits = [Hit(i, f"/nonexistent/{i // 1000}/IMG_{i:06d}.jpg", 1 - i / args.photos, 4000,
                3000, "2024-01-01T00:00:00", 3_000_000, relevance=5 - 10 * i / args.photos)
            for i in range(args.photos)]
    t0 = time.perf_counter()
    model.set_hits(hits)
    view.scrollToTop()
    view.viewport().repaint()
    app.processEvents()
    show_s = time.perf_counter() - t0
    sb = view.verticalScrollBar()
    jumps = []
    for k in range(50):  # jump to random places, as dragging the scroll bar does
        t0 = time.perf_counter()
        sb.setValue(int(sb.maximum() * ((k * 37) % 50) / 50))
        view.viewport().repaint()
        app.processEvents()
        jumps.append(time.perf_counter() - t0)
    steps = []
    for _ in range(100):  # wheel-like scrolling
        t0 = time.perf_counter()
        sb.setValue(sb.value() + 120)
        view.viewport().repaint()
        app.processEvents()
        steps.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    model.set_min_relevance(0.5)
    view.viewport().repaint()
    app.processEvents()
    slider_s = time.perf_counter() - t0
    model.set_min_relevance(None)
    uniform_s = laid_out(app, view, model)
    t0 = time.perf_counter()
    view.zoom_step(1)
    zoom_s = laid_out(app, view, model) + time.perf_counter() - t0

    # a browse: newest first, a header per month (items of two sizes in the layout)
    dated = [Hit(h.id, h.path, float("nan"), h.width, h.height,
                 f"{2026 - i // 20_000}-{12 - (i // 1700) % 12:02d}-01T12:00:00", h.size)
             for i, h in enumerate(hits)]
    t0 = time.perf_counter()
    model.set_hits(dated, sections=True)
    view.scrollToTop()
    view.viewport().repaint()
    app.processEvents()
    sections_show_s = time.perf_counter() - t0
    sections_s = laid_out(app, view, model)
    thumbs.shutdown()
    write_result("gui_grid", {
        "photos": args.photos, "show_all_ms": round(show_s * 1000, 1),
        "jump_to_random_place": percentiles(jumps), "scroll_step": percentiles(steps),
        "relevance_slider_ms": round(slider_s * 1000, 1),
        "full_layout_uniform_s": round(uniform_s, 3),
        "zoom_one_column_full_layout_s": round(zoom_s, 3),
        "browse_with_month_sections": {
            "headers": model.rowCount() - model.shown,
            "first_screen_ms": round(sections_show_s * 1000, 1),
            "full_layout_s": round(sections_s, 3),
            "vs_uniform": round(sections_s / max(uniform_s, 1e-9), 2)}})


def laid_out(app, view, model) -> float:
    """Seconds until the batched layout has placed the last item (the scroll bar is right)."""
    t0 = time.perf_counter()
    view.doItemsLayout()
    last = model.index(model.rowCount() - 1)
    while not (view.visualRect(last).isValid() and view.visualRect(last).width() > 0):
        app.processEvents()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
