"""Plotly figures for the dashboard (drawing only; the numbers come from ``core``)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from PIL import Image
from plotly.subplots import make_subplots

#: Larger fonts for projectors.
FONT = {"size": 16}
CHANNELS = ("R", "G", "B")
#: White where the prediction is right, through amber to dark red for large errors.
ERROR_SCALE = [[0.0, "#ffffff"], [0.25, "#fde68a"], [0.6, "#f97316"], [1.0, "#7f1d1d"]]


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    """The one chart style: 16 px fonts, a plain white background, round tick labels."""
    fig.update_layout(
        title={"text": title, "font": {"size": 18}},
        height=height,
        margin={"l": 60, "r": 30, "t": 60, "b": 50},
        font=FONT,
        template="plotly_white",
    )
    fig.update_xaxes(tickformat="~g", nticks=8)
    fig.update_yaxes(tickformat="~g", nticks=6)
    return fig


def _round_axis(fig: go.Figure, values, *, axis: str = "yaxis") -> None:
    """Ticks at round numbers (0.05, 0.1, 0.2, 0.5, …) for the range the values span."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    if not finite:
        return
    lo, hi = min(0.0, min(finite)), max(finite)
    span = max(hi - lo, 1e-9)
    step = 10 ** np.floor(np.log10(span / 5))
    for m in (1, 2, 2.5, 5, 10):
        if span / (m * step) <= 6:
            step *= m
            break
    fig.update_layout(
        {axis: {"range": [lo, float(np.ceil(hi / step) * step)], "dtick": float(step), "tickformat": "~g"}}
    )


def ann_curves(history: list[dict], epochs: int | None = None) -> go.Figure:
    """Loss (left axis) and the colour error on both parts (right axis) per epoch.

    Built without ``make_subplots`` (a tenth of the time), since the live view redraws it twice a second.

    Parameters
    ----------
    history : list of dicts with keys epoch, loss, train_difference, test_difference
    epochs : planned number of epochs, fixes the x range while training
    """
    ep = [h["epoch"] for h in history]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ep, y=[h["loss"] for h in history], name="loss", mode="lines", line={"width": 3}))
    for key, name, width in (
        ("train_difference", "colour error, training part", 2),
        ("test_difference", "colour error, test part", 3),
    ):
        fig.add_trace(
            go.Scatter(x=ep, y=[h[key] for h in history], name=name, mode="lines", line={"width": width}, yaxis="y2")
        )
    fig.update_layout(
        xaxis={"title": {"text": "epoch"}, "range": [0, max(epochs or 1, max(ep, default=1))]},
        yaxis={"title": {"text": "loss"}},
        yaxis2={"title": {"text": "colour error (steps)"}, "overlaying": "y", "side": "right", "showgrid": False},
        legend={"orientation": "h", "y": -0.3},
    )
    fig = _layout(fig, "Training curves")
    _round_axis(fig, [h["loss"] for h in history], axis="yaxis")
    _round_axis(fig, [h[k] for h in history for k in ("train_difference", "test_difference")], axis="yaxis2")
    return fig


def accuracy_curves(history: list[dict], keys=("accuracy",), x="step", steps: int | None = None) -> go.Figure:
    """Accuracy per step (for the CNN): one line through the steps where it was measured.

    Parameters
    ----------
    history : list of dicts with key ``x`` and, at some steps, the keys in ``keys``
    steps : planned number of steps, fixes the x range while training
    """
    fig = go.Figure()
    for k in keys:
        pts = [(h.get(x, i), h[k]) for i, h in enumerate(history) if h.get(k) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            fig.add_trace(go.Scatter(x=xs, y=ys, name=k.replace("_", " "), mode="lines+markers", line={"width": 3}))
    fig.update_xaxes(title_text=x, range=[0, steps] if steps else None)
    fig = _layout(fig, "Accuracy on the test photos while training")
    fig.update_yaxes(title_text="accuracy", range=[0, 1], dtick=0.2)
    return fig


def _shrink(values: np.ndarray, max_side: int) -> np.ndarray:
    """Block-average a 2-D map for display so the browser gets at most ``max_side`` cells a side."""
    h, w = values.shape
    if max(h, w) <= max_side:
        return values
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(values.astype(np.float32), mode="F").resize(size, Image.Resampling.BOX))


def heatmap(values: np.ndarray, title: str, colorbar: str, zmax: float | None = None, max_side: int = 200) -> go.Figure:
    """A per-pixel map (e.g. the error in levels) as a heatmap in image orientation.

    Maps larger than ``max_side`` are shown block-averaged (the mean over each block); the
    axes still count pixels of the photo.
    """
    full_h, full_w = np.shape(values)[:2]
    values = _shrink(np.asarray(values, np.float64), max_side)
    sy, sx = full_h / values.shape[0], full_w / values.shape[1]
    unit = " (pixel)" if sx == sy == 1 else " (pixel of the photo)"
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=(np.arange(values.shape[1]) + 0.5) * sx,
            y=(np.arange(values.shape[0]) + 0.5) * sy,
            colorscale=ERROR_SCALE,
            zmin=0,
            zmax=zmax,
            colorbar={"title": {"text": colorbar}},
            hovertemplate="column %{x:.0f}, row %{y:.0f}: %{z:.2f}<extra></extra>",
        )
    )
    h, w = values.shape[:2]
    fig = _layout(fig, title, height=int(min(520, max(300, 460 * h / max(w, 1)))))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", title_text=f"row{unit}", tickformat="d")
    fig.update_xaxes(title_text=f"column{unit}", tickformat="d")
    return fig


def confusion(conf: np.ndarray) -> go.Figure:
    """One K x K confusion matrix per channel: rows true level, columns predicted level."""
    k = conf.shape[-1]
    fig = make_subplots(rows=1, cols=conf.shape[0], subplot_titles=[f"{c} channel" for c in CHANNELS[: conf.shape[0]]])
    labels = [str(i) for i in range(k)]
    for c in range(conf.shape[0]):
        fig.add_trace(
            go.Heatmap(
                z=conf[c],
                x=labels,
                y=labels,
                colorscale="Blues",
                showscale=False,
                text=conf[c],
                texttemplate="%{text}" if k <= 8 else None,
                hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
            ),
            row=1,
            col=c + 1,
        )
        fig.update_xaxes(title_text="predicted level", type="category", row=1, col=c + 1)
        fig.update_yaxes(
            title_text="true level" if c == 0 else None, type="category", autorange="reversed", row=1, col=c + 1
        )
    return _layout(fig, f"Confusion matrices ({k}×{k} per channel)", height=420)


def first_layer(weights: np.ndarray, window: int, max_units: int = 16) -> go.Figure:
    """First-layer weights, one w x w tile per hidden unit and one row per network.

    Parameters
    ----------
    weights : (n_nets, w*w, hidden) float
    """
    n_nets, _, hidden = weights.shape
    units = min(hidden, max_units)
    names = ["R net", "G net", "B net"] if n_nets == 3 else ["shared trunk"] * n_nets
    fig = make_subplots(rows=n_nets, cols=units, horizontal_spacing=0.01, vertical_spacing=0.06)
    lim = float(np.abs(weights).max()) or 1.0
    for n in range(n_nets):
        for u in range(units):
            tile = weights[n, :, u].reshape(window, window)  # (w, w) weights of one unit
            fig.add_trace(
                go.Heatmap(z=tile, colorscale="RdBu", zmin=-lim, zmax=lim, showscale=(n == 0 and u == units - 1)),
                row=n + 1,
                col=u + 1,
            )
    more = f" (first {units} of {hidden} units)" if hidden > units else ""
    fig = _layout(
        fig, f"First-layer weights{more}: one {window}×{window} tile per hidden unit", height=150 + 90 * n_nets
    )
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, autorange="reversed")
    for n in range(n_nets):  # one label per row, left of its first tile
        fig.update_yaxes(title_text=names[n].replace(" net", ""), title_standoff=4, row=n + 1, col=1)
    for u in range(units):  # unit numbers under the bottom row only
        fig.update_xaxes(title_text=str(u + 1), title_standoff=2, row=n_nets, col=u + 1)
    return fig


def threshold_curve(thresholds: np.ndarray, curves: dict[str, np.ndarray], marker: float | None = None) -> go.Figure:
    """acc(t) curves for several predictors, with an optional vertical marker."""
    fig = go.Figure()
    for name, curve in curves.items():
        fig.add_trace(go.Scatter(x=thresholds, y=curve, name=name, mode="lines"))
    if marker is not None:
        fig.add_vline(x=marker, line_dash="dash")
    fig = _layout(fig, "Accuracy versus threshold")
    fig.update_xaxes(title_text="threshold t (a/b distance)")
    fig.update_yaxes(title_text="share of pixels within t", range=[0, 1], dtick=0.2)
    return fig


def ab_scatter(ab_pred: np.ndarray, ab_true: np.ndarray, max_points: int = 4000, seed: int = 0) -> go.Figure:
    """Predicted against true a and b for a random subset of pixels."""
    p = ab_pred.reshape(-1, 2)
    t = ab_true.reshape(-1, 2)
    idx = np.random.default_rng(seed).choice(len(p), size=min(max_points, len(p)), replace=False)
    fig = make_subplots(rows=1, cols=2, subplot_titles=["a", "b"])
    for c in range(2):
        fig.add_trace(
            go.Scattergl(
                x=t[idx, c], y=p[idx, c], mode="markers", marker={"size": 3, "opacity": 0.4}, showlegend=False
            ),
            row=1,
            col=c + 1,
        )
        fig.add_trace(
            go.Scatter(x=[-110, 110], y=[-110, 110], mode="lines", line={"dash": "dot"}, showlegend=False),
            row=1,
            col=c + 1,
        )
        fig.update_xaxes(title_text="true", range=[-110, 110], row=1, col=c + 1)
        fig.update_yaxes(title_text="predicted", range=[-110, 110], row=1, col=c + 1)
    return _layout(fig, "Predicted against true a/b", height=400)
