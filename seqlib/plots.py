"""One plotting style for every figure in the book.

Figures are PNG (nbval skips PNG outputs; it would compare SVG byte by byte)
with English labels, so no CJK font is needed.
"""
from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt

#: One colour per category, reused across chapters so "RNN" or "LSTM" keeps
#: its colour from figure to figure.
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf"]


def use_book_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a notebook)."""
    matplotlib.rcParams.update({
        "figure.figsize": (6.4, 3.6),
        "figure.dpi": 100,
        "savefig.dpi": 100,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
        "font.size": 10,
        "legend.frameon": False,
    })


def labelled_scatter(ax, points, labels, groups=None, title=None):
    """Scatter 2-D points and write each label beside its point.

    Args:
        ax: a matplotlib Axes.
        points: array of shape ``(n, 2)``.
        labels: ``n`` strings.
        groups: optional ``n`` group names; each group gets one colour and a
            legend entry.
        title: optional axes title.

    Raises:
        ValueError: if ``points`` is not ``(n, 2)`` or the lengths disagree.
    """
    import numpy as np
    from ._checks import check_tensor
    points = np.asarray(points)
    # The spec's second name is the literal "2", so sizes pins that axis.
    n = check_tensor(points, "points", "(n, 2)", sizes={"2": 2})["n"]
    if len(labels) != n or (groups is not None and len(groups) != n):
        raise ValueError(f"labels and groups must have {n} entries, one per point")
    groups = list(groups) if groups is not None else [""] * n
    for k, g in enumerate(dict.fromkeys(groups)):
        idx = [i for i in range(n) if groups[i] == g]
        ax.scatter(points[idx, 0], points[idx, 1], color=PALETTE[k % len(PALETTE)],
                   label=g or None, s=28)
    if title:
        ax.set_title(title)
    _place_labels(ax, points, labels)
    if any(groups):
        ax.legend(loc="best", fontsize=8)
    return ax


#: Where a label may sit around its point: offset in points and alignment.
_LABEL_SPOTS = [(4, 2, "left", "bottom"), (4, -2, "left", "top"), (-4, 2, "right", "bottom"),
                (-4, -2, "right", "top"), (0, 5, "center", "bottom"), (0, -5, "center", "top"),
                (5, 0, "left", "center"), (-5, 0, "right", "center"), (4, 10, "left", "bottom"),
                (4, -10, "left", "top"), (-4, 10, "right", "bottom"), (-4, -10, "right", "top")]


def _place_labels(ax, points, labels, pad: float = 2.0) -> None:
    """Write each non-empty label at the first spot where it overlaps no earlier
    label and no other point (the spot with the least overlap if none is free).

    Overlaps are measured in display pixels with the axes' current limits, so
    a layout engine that later resizes the axes shifts labels only slightly.
    """
    from matplotlib.transforms import Bbox
    ax.autoscale_view()
    renderer = ax.figure.canvas.get_renderer()
    xy = ax.transData.transform(points)
    r = 4.0  # half-size, in pixels, of the box kept free around each marker
    markers = [Bbox([[x - r, y - r], [x + r, y + r]]) for x, y in xy]
    placed = []

    def overlap(a, b):
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return max(w, 0.0) * max(h, 0.0)

    for i, text in enumerate(labels):
        if not text:
            continue
        best = None
        for dx, dy, ha, va in _LABEL_SPOTS:
            ann = ax.annotate(text, points[i], xytext=(dx, dy), textcoords="offset points",
                              ha=ha, va=va, fontsize=8)
            box = ann.get_window_extent(renderer).expanded(1.0, 1.0).padded(pad)
            cost = sum(overlap(box, b) for b in placed)
            cost += sum(overlap(box, m) for j, m in enumerate(markers) if j != i)
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, ann, box)
            else:
                ann.remove()
            if cost == 0:
                break
        placed.append(best[2])


# ---------------------------------------------------------------------------
# Diagrams of recurrent networks (chapters 2 and 3)
# ---------------------------------------------------------------------------

_IN, _HID, _OUT, _GRAD = "#d62728", "#2ca02c", "#1f77b4", "#9467bd"


def _node(ax, x, y, text, color, round_=False, size=0.36):
    from matplotlib.patches import Circle, FancyBboxPatch
    if round_:
        patch = Circle((x, y), size * 0.62, facecolor="white", edgecolor=color, lw=1.8, zorder=3)
    else:
        patch = FancyBboxPatch((x - size / 2, y - size / 2), size, size, boxstyle="round,pad=0.04",
                               facecolor="white", edgecolor=color, lw=1.8, zorder=3)
    ax.add_patch(patch)
    ax.text(x, y, text, ha="center", va="center", fontsize=9, zorder=4)


def _arrow(ax, start, end, color="0.3", style="-|>", ls="-", shrink=13, text=None,
           offset=(0.0, 0.0), lw=1.3):
    ax.annotate("", xy=end, xytext=start, zorder=2,
                arrowprops=dict(arrowstyle=style, color=color, lw=lw, ls=ls,
                                shrinkA=shrink, shrinkB=shrink))
    if text:
        mx, my = (start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1]
        ax.text(mx, my, text, ha="center", va="center", fontsize=8, color=color)


def draw_unrolled_rnn(ax, T: int = 4, backward: bool = False, truncate: int | None = None,
                      title: str | None = None):
    """Draw a tanh RNN unrolled over ``T`` steps (eq-rnn-state, eq-rnn-output).

    Inputs ``x_t`` (bottom) feed states ``h_t`` (middle), which feed outputs
    ``y_t`` and per-step losses ``ell_t`` (top); ``h_0`` enters from the left.
    Every step uses the same ``W_xh``, ``W_hh`` and ``W_hy``.

    Args:
        ax: a matplotlib Axes (its axis lines are turned off).
        T: number of steps to draw (1 to 8).
        backward: also draw the gradient paths of BPTT (dashed, purple): from
            each loss down to its state, and from each state back to the one
            before (eq-bptt-dh).
        truncate: if given, cut the backward path every ``truncate`` steps,
            as truncated BPTT does, and mark the cuts.
        title: optional axes title.

    Raises:
        ValueError: if ``T`` is not an int in [1, 8] or ``truncate`` is not a
            positive int.
    """
    from ._checks import check_positive
    check_positive(T, "T", integer=True)
    if T > 8:
        raise ValueError(f"T must be at most 8 to stay readable; got {T}")
    if truncate is not None:
        check_positive(truncate, "truncate", integer=True)
    ax.set_xlim(-0.7, T + 0.6)
    ax.set_ylim(-0.55, 3.45)
    ax.set_aspect("equal")
    ax.axis("off")
    _node(ax, 0, 1.2, r"$\mathbf{h}_0$", _HID, round_=True)
    for t in range(1, T + 1):
        _node(ax, t, 0, rf"$\mathbf{{x}}_{t}$", _IN)
        _node(ax, t, 1.2, rf"$\mathbf{{h}}_{t}$", _HID, round_=True)
        _node(ax, t, 2.3, rf"$\mathbf{{y}}_{t}$", _OUT)
        ax.text(t, 3.1, rf"$\ell_{t}$", ha="center", va="center", fontsize=9)
        first = t == 1
        _arrow(ax, (t, 0), (t, 1.2), text=r"$W_{xh}$" if first else None, offset=(0.22, 0))
        _arrow(ax, (t - 1, 1.2), (t, 1.2), text=r"$W_{hh}$" if first else None, offset=(0, 0.2))
        _arrow(ax, (t, 1.2), (t, 2.3), text=r"$W_{hy}$" if first else None, offset=(-0.24, 0))
        _arrow(ax, (t, 2.3), (t, 3.1), shrink=8)
        if backward:
            _arrow(ax, (t + 0.12, 2.95), (t + 0.12, 1.35), color=_GRAD, ls="--", shrink=6, lw=1.1)
            cut = truncate is not None and (t - 1) % truncate == 0 and t > 1
            if not cut:
                _arrow(ax, (t - 0.1, 1.02), (t - 0.9, 1.02), color=_GRAD, ls="--", shrink=6, lw=1.1)
            else:
                ax.plot([t - 0.5, t - 0.5], [-0.45, 3.35], color="0.5", ls=":", lw=1.2)
                ax.text(t - 0.5, -0.5, "cut", ha="center", va="top", fontsize=8, color="0.4")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def draw_io_patterns(examples=None):
    """Draw five input/output patterns of sequence models side by side.

    one-to-one (a feedforward net), one-to-many (e.g. captioning),
    many-to-one (e.g. classifying a sentence), many-to-many aligned (e.g.
    tagging every step, next-character prediction) and many-to-many
    encoder-decoder (e.g. translation: read everything, then write).
    Inputs are red (bottom), states green (middle), outputs blue (top); a
    legend under the diagrams says so.

    Args:
        examples: optional five strings, one example task per pattern,
            written under the diagrams.

    Returns:
        ``(fig, axes)``, a new figure and its five Axes.

    Raises:
        ValueError: if ``examples`` is given and does not hold five strings.
    """
    if examples is not None and len(examples) != 5:
        raise ValueError(f"examples must hold 5 strings, one per pattern; got {len(examples)}")
    patterns = [  # (title, steps, steps with an input, steps with an output)
        ("one-to-one", 1, {0}, {0}),
        ("one-to-many", 4, {0}, {0, 1, 2, 3}),
        ("many-to-one", 4, {0, 1, 2, 3}, {3}),
        ("many-to-many\n(aligned)", 4, {0, 1, 2, 3}, {0, 1, 2, 3}),
        ("many-to-many\n(encoder-decoder)", 6, {0, 1, 2}, {3, 4, 5}),
    ]
    widths = [max(n, 2.2) for _, n, _, _ in patterns]
    fig, axes = plt.subplots(1, 5, figsize=(10, 2.6), gridspec_kw={"width_ratios": widths})
    for k, (ax, (title, n, ins, outs)) in enumerate(zip(axes, patterns)):
        pad = (widths[k] - n) / 2
        ax.set_xlim(-0.6 - pad, n - 0.4 + pad)
        ax.set_ylim(-0.9, 2.5)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=9)
        for t in range(n):
            _node(ax, t, 1, "", _HID, round_=True, size=0.5)
            if t in ins:
                _node(ax, t, 0, "", _IN, size=0.5)
                _arrow(ax, (t, 0), (t, 1), shrink=8)
            if t in outs:
                _node(ax, t, 2, "", _OUT, size=0.5)
                _arrow(ax, (t, 1), (t, 2), shrink=8)
            if t > 0:
                _arrow(ax, (t - 1, 1), (t, 1), shrink=8)
        if examples is not None:
            ax.text((n - 1) / 2, -0.65, examples[k], ha="center", va="center", fontsize=8,
                    style="italic")
    from matplotlib.lines import Line2D
    key = [Line2D([], [], ls="", marker=m, ms=10, mfc="white", mec=c, mew=1.8, label=t)
           for m, c, t in (("s", _IN, r"input $\mathbf{x}_t$"), ("o", _HID, r"hidden state $\mathbf{h}_t$"),
                           ("s", _OUT, r"output $\mathbf{y}_t$"))]
    fig.legend(handles=key, loc="lower center", ncol=3, fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig, axes


# ---------------------------------------------------------------------------
# The LSTM cell (chapter 5)
# ---------------------------------------------------------------------------

def _diagram_axes(ax, xlim, ylim) -> None:
    """Check ``ax`` is an Axes and prepare it for a cell diagram (equal scale, no axis lines)."""
    from matplotlib.axes import Axes
    if not isinstance(ax, Axes):
        raise ValueError(f"ax must be a matplotlib Axes; got {type(ax).__name__}")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")

def draw_lstm_cell(ax, title: str | None = None):
    """Draw the data flow of one LSTM step (eq-lstm-forget to eq-lstm-hidden).

    Three inputs enter on the left and at the bottom (``c_{t-1}``, ``h_{t-1}``,
    ``x_t``); two outputs leave on the right (``c_t``, ``h_t``). The inputs
    ``h_{t-1}`` and ``x_t`` feed the four parts, each a box with its
    squashing function and weights: the forget gate ``f_t``, the input gate
    ``i_t``, the candidate ``g_t`` and the output gate ``o_t``. The cell path
    along the top, ``c_{t-1} -> (times f_t) -> (plus i_t * g_t) -> c_t``, is
    drawn thick in orange: it is the additive path of eq-lstm-cell, whose
    one-step Jacobian is ``diag(f_t)`` (eq-lstm-cell-path). Every arrow is
    labelled with the quantity it carries.

    Args:
        ax: a matplotlib Axes (its axis lines are turned off).
        title: optional axes title.

    Raises:
        ValueError: if ``ax`` is not a matplotlib Axes.
    """
    _diagram_axes(ax, (-0.5, 11.45), (-0.75, 4.75))
    cell = PALETTE[3]                 # the additive cell path
    y_c, y_gate, y_bus = 4.0, 1.9, 0.75  # rows: cell path, the four parts, the input bus
    # the cell path: c_{t-1} -> (x f_t) -> (+ i_t g_t) -> c_t
    x_mul, x_add, x_tap, x_out = 2.0, 4.85, 9.35, 10.95
    _node(ax, 0, y_c, r"$\mathbf{c}_{t-1}$", cell, round_=True, size=0.62)
    _node(ax, x_mul, y_c, r"$\odot$", cell, round_=True)
    _node(ax, x_add, y_c, r"$+$", cell, round_=True)
    _node(ax, x_out, y_c, r"$\mathbf{c}_t$", cell, round_=True, size=0.62)
    _arrow(ax, (0, y_c), (x_mul, y_c), color=cell, lw=3, shrink=16,
           text=r"$\mathbf{c}_{t-1}$", offset=(0, 0.25))
    _arrow(ax, (x_mul, y_c), (x_add, y_c), color=cell, lw=3, shrink=12,
           text=r"$\mathbf{f}_t \odot \mathbf{c}_{t-1}$", offset=(0, 0.25))
    _arrow(ax, (x_add, y_c), (x_out, y_c), color=cell, lw=3, shrink=16,
           text=r"$\mathbf{c}_t$", offset=(0.4, 0.25))
    ax.text((x_mul + x_add) / 2, y_c + 0.62, r"additive cell path: $\partial\mathbf{c}_t/\partial\mathbf{c}_{t-1}"
            r" = \operatorname{diag}(\mathbf{f}_t)$", ha="center", va="center", fontsize=8, color=cell)
    # the four parts, each reading h_{t-1} and x_t
    x_i, x_g, x_o = 3.9, 5.8, 7.7
    parts = [  # (x, symbol of the output, squashing function, name, colour)
        (x_mul, "f", r"$\sigma$", "forget gate", PALETTE[2]),
        (x_i, "i", r"$\sigma$", "input gate", PALETTE[0]),
        (x_g, "g", r"$\tanh$", "candidate", PALETTE[4]),
        (x_o, "o", r"$\sigma$", "output gate", PALETTE[5]),
    ]
    for x, k, squash, name, color in parts:
        _node(ax, x, y_gate, squash, color, size=0.5)
        ax.text(x + 0.35, y_gate - 0.3, name, ha="left", va="center", fontsize=7.5, color=color)
        ax.text(x + 0.35, y_gate - 0.62, rf"$\mathbf{{W}}_{{x{k}}}, \mathbf{{W}}_{{h{k}}}, \mathbf{{b}}_{k}$",
                ha="left", va="center", fontsize=7, color="0.35")
        ax.annotate("", xy=(x, y_gate), xytext=(x, y_bus), zorder=2,  # from the bus itself
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.3, shrinkA=0, shrinkB=15))
    # input part: i_t and g_t multiply, the product is added to the cell
    y_ig = 3.0
    _node(ax, x_add, y_ig, r"$\odot$", "0.3", round_=True)
    _arrow(ax, (x_i, y_gate), (x_add, y_ig), shrink=15, text=r"$\mathbf{i}_t$", offset=(-0.25, 0.05))
    _arrow(ax, (x_g, y_gate), (x_add, y_ig), shrink=15, text=r"$\mathbf{g}_t$", offset=(0.25, 0.05))
    _arrow(ax, (x_add, y_ig), (x_add, y_c), shrink=12, text=r"$\mathbf{i}_t \odot \mathbf{g}_t$",
           offset=(0.5, 0))
    # forget part: f_t multiplies the old cell
    _arrow(ax, (x_mul, y_gate), (x_mul, y_c), shrink=15, text=r"$\mathbf{f}_t$", offset=(-0.22, 0))
    # output part: h_t = o_t * tanh(c_t)
    y_tanh = 3.0
    _node(ax, x_tap, y_tanh, r"$\tanh$", "0.3", round_=True, size=0.5)
    _node(ax, x_tap, y_gate, r"$\odot$", "0.3", round_=True)
    ax.plot([x_tap], [y_c], "o", color=cell, ms=5, zorder=3)
    _arrow(ax, (x_tap, y_c), (x_tap, y_tanh), shrink=12, text=r"$\mathbf{c}_t$", offset=(-0.22, 0))
    _arrow(ax, (x_tap, y_tanh), (x_tap, y_gate), shrink=12, text=r"$\tanh(\mathbf{c}_t)$",
           offset=(0.5, 0))
    _arrow(ax, (x_o, y_gate), (x_tap, y_gate), shrink=13, text=r"$\mathbf{o}_t$", offset=(0, 0.22))
    _node(ax, x_out, y_gate, r"$\mathbf{h}_t$", _HID, round_=True, size=0.62)
    _arrow(ax, (x_tap, y_gate), (x_out, y_gate), shrink=14, text=r"$\mathbf{h}_t$", offset=(0, 0.22))
    # inputs: h_{t-1} from the left, x_t from below, joined on one bus
    _node(ax, 0, y_bus, r"$\mathbf{h}_{t-1}$", _HID, round_=True, size=0.62)
    _node(ax, 1.0, -0.35, r"$\mathbf{x}_t$", _IN, size=0.5)
    ax.plot([0.38, x_o], [y_bus, y_bus], color="0.3", lw=1.3, zorder=1)
    ax.plot([1.0, 1.0], [-0.1, y_bus], color="0.3", lw=1.3, zorder=1)
    ax.text(0.72, y_bus + 0.2, r"$\mathbf{h}_{t-1}$", ha="center", va="center", fontsize=8, color="0.3")
    ax.text(1.25, 0.2, r"$\mathbf{x}_t$", ha="center", va="center", fontsize=8, color="0.3")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def draw_gru_cell(ax, title: str | None = None):
    """Draw the data flow of one GRU step in torch's convention (eq-gru-reset to eq-gru-state).

    The state ``h_{t-1}`` enters at the top left and the input ``x_t`` at the
    bottom; both join one bus that feeds the three parts, each a box with
    its function and weights: the update gate ``z_t``, the reset gate
    ``r_t`` and the candidate ``h~_t``, whose recurrent product
    ``W_hn h_{t-1} + b_hn`` is scaled by ``r_t`` *after* the product
    (eq-gru-candidate). The interpolation path along the top,
    ``h_{t-1} -> (times z_t) -> (plus (1 - z_t) * h~_t) -> h_t``
    (eq-gru-state), is drawn thick in orange: its one-step Jacobian is
    ``diag(z_t)`` plus the terms through the gates and the candidate. Every
    arrow is labelled with the quantity it carries.

    Args:
        ax: a matplotlib Axes (its axis lines are turned off).
        title: optional axes title.

    Raises:
        ValueError: if ``ax`` is not a matplotlib Axes.
    """
    _diagram_axes(ax, (-0.6, 9.8), (-0.85, 5.1))
    path = PALETTE[3]                               # the interpolation path, as chapter 5's cell path
    y_h, y_new, y_reset, y_gate, y_bus = 4.35, 3.4, 2.5, 1.4, 0.45   # rows
    x_z, x_r, x_lin, x_c, x_out = 1.6, 3.6, 5.6, 7.5, 9.1          # columns
    # the interpolation path: h_{t-1} -> (x z_t) -> (+ (1 - z_t) h~_t) -> h_t
    _node(ax, 0, y_h, r"$\mathbf{h}_{t-1}$", path, round_=True, size=0.62)
    _node(ax, x_z, y_h, r"$\odot$", path, round_=True)
    _node(ax, x_c, y_h, r"$+$", path, round_=True)
    _node(ax, x_out, y_h, r"$\mathbf{h}_t$", path, round_=True, size=0.62)
    _arrow(ax, (0, y_h), (x_z, y_h), color=path, lw=3, shrink=16, text=r"$\mathbf{h}_{t-1}$",
           offset=(0, 0.25))
    _arrow(ax, (x_z, y_h), (x_c, y_h), color=path, lw=3, shrink=12,
           text=r"$\mathbf{z}_t \odot \mathbf{h}_{t-1}$", offset=(0, 0.25))
    _arrow(ax, (x_c, y_h), (x_out, y_h), color=path, lw=3, shrink=16, text=r"$\mathbf{h}_t$",
           offset=(0, 0.25))
    ax.text((x_z + x_c) / 2, y_h + 0.62, r"interpolation path: $\partial\mathbf{h}_t/\partial\mathbf{h}_{t-1}"
            r" = \operatorname{diag}(\mathbf{z}_t) + \dots$", ha="center", va="center", fontsize=8,
            color=path)
    # the inputs: h_{t-1} comes down the left edge, x_t up from below, on one bus
    _node(ax, 0.9, -0.4, r"$\mathbf{x}_t$", _IN, size=0.5)
    ax.plot([0, 0], [y_h - 0.38, y_bus], color="0.3", lw=1.3, zorder=1)
    ax.plot([0, x_c], [y_bus, y_bus], color="0.3", lw=1.3, zorder=1)
    ax.plot([0.9, 0.9], [-0.15, y_bus], color="0.3", lw=1.3, zorder=1)
    ax.text(-0.22, (y_h + y_bus) / 2, r"$\mathbf{h}_{t-1}$", ha="center", va="center", fontsize=8,
            color="0.3", rotation=90)
    ax.text(1.12, 0.15, r"$\mathbf{x}_t$", ha="center", va="center", fontsize=8, color="0.3")
    # the parts: (x, y, box text, name, weights, colour)
    parts = [
        (x_z, y_gate, r"$\sigma$", "update gate", r"$\mathbf{W}_{xz}, \mathbf{W}_{hz}, \mathbf{b}_{xz}, \mathbf{b}_{hz}$", PALETTE[2]),
        (x_r, y_gate, r"$\sigma$", "reset gate", r"$\mathbf{W}_{xr}, \mathbf{W}_{hr}, \mathbf{b}_{xr}, \mathbf{b}_{hr}$", PALETTE[0]),
        (x_lin, y_gate, r"$\mathbf{W}_{hn}$", "recurrent part", r"$\mathbf{W}_{hn}, \mathbf{b}_{hn}$", PALETTE[4]),
        (x_c, y_reset, r"$\tanh$", "candidate", r"$\mathbf{W}_{xn}, \mathbf{b}_{xn}$", PALETTE[4]),
    ]
    for x, y, text, name, weights, color in parts:
        _node(ax, x, y, text, color, size=0.5)
        ax.text(x + 0.35, y - 0.3, name, ha="left", va="center", fontsize=7.5, color=color)
        ax.text(x + 0.35, y - 0.6, weights, ha="left", va="center", fontsize=7, color="0.35")
        ax.annotate("", xy=(x, y), xytext=(x, y_bus), zorder=2,  # from the bus itself
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.3, shrinkA=0, shrinkB=15))
    # update gate: z_t keeps the old state, 1 - z_t lets the candidate in
    _arrow(ax, (x_z, y_gate), (x_z, y_h), shrink=15, text=r"$\mathbf{z}_t$", offset=(-0.22, -0.35))
    ax.plot([x_z], [y_new], "o", color="0.3", ms=4, zorder=3)
    x_one = (x_z + x_c) / 2 + 0.4
    _node(ax, x_one, y_new, r"$1-$", "0.3", round_=True)
    _node(ax, x_c, y_new, r"$\odot$", "0.3", round_=True)
    ax.annotate("", xy=(x_one, y_new), xytext=(x_z, y_new), zorder=2,  # a branch of the z_t line
                arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.3, shrinkA=0, shrinkB=13))
    ax.text((x_z + x_one) / 2, y_new + 0.2, r"$\mathbf{z}_t$", ha="center", va="center", fontsize=8,
            color="0.3")
    _arrow(ax, (x_one, y_new), (x_c, y_new), shrink=13, text=r"$1 - \mathbf{z}_t$", offset=(0, 0.2))
    _arrow(ax, (x_c, y_new), (x_c, y_h), shrink=12,
           text=r"$(1 - \mathbf{z}_t) \odot \tilde{\mathbf{h}}_t$", offset=(0.72, 0))
    # reset gate: r_t scales the recurrent product and its bias, after the product
    _node(ax, x_lin, y_reset, r"$\odot$", "0.3", round_=True)
    _arrow(ax, (x_r, y_gate), (x_lin, y_reset), shrink=14, text=r"$\mathbf{r}_t$", offset=(-0.15, 0.2))
    _arrow(ax, (x_lin, y_gate), (x_lin, y_reset), shrink=14,
           text=r"$\mathbf{W}_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn}$", offset=(0.85, 0))
    _arrow(ax, (x_lin, y_reset), (x_c, y_reset), shrink=14,
           text=r"$\mathbf{r}_t \odot (\cdot)$", offset=(0, 0.2))
    _arrow(ax, (x_c, y_reset), (x_c, y_new), shrink=13, text=r"$\tilde{\mathbf{h}}_t$",
           offset=(0.2, 0))
    if title:
        ax.set_title(title, fontsize=10)
    return ax
