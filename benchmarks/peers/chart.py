"""throughput.png: req/s by threads for every client, HTTP and TLS side by side, log-scaled (the bare environment)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.peers.summary import PROTOCOLS, Cell


def plot_throughput(cells: list[Cell], threads: tuple[int, ...], path: Path, server: str, env: str = "bare") -> None:
    """Two panels (HTTP, TLS) of median req/s against threads, one line per client, for /tiny in ``env``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients: dict[str, tuple[str, bool]] = {}
    for cell in cells:
        clients.setdefault(cell["client"], (cell["label"], bool(cell.get("sessionpool"))))
    palette = plt.get_cmap("tab20")
    by_key = {
        (c["protocol"], c["threads"], c["client"]): c["rps"]
        for c in cells
        if c["path"] == "/tiny" and c.get("env", "bare") == env
    }
    figure, axes = plt.subplots(1, 2, figsize=(13, 5.5), sharey=True)
    try:
        for axis, protocol in zip(axes, PROTOCOLS, strict=True):
            for index, (name, (label, ours)) in enumerate(clients.items()):
                points = [(t, by_key.get((protocol, t, name))) for t in threads]
                xs = [t for t, rps in points if rps]
                ys = [rps for _, rps in points if rps]
                if not xs:
                    continue
                baseline = "baseline" in label
                axis.plot(
                    xs,
                    ys,
                    marker="s" if ours else "o",
                    label=label,
                    color="black" if baseline else palette((2 * index) % 20 + (2 * index) // 20),
                    linestyle="--" if baseline else "-",
                    linewidth=2.6 if ours else 1.3,
                )
            axis.set_title(f"{protocol}, 2-byte body")
            axis.set_xscale("log", base=2)
            axis.set_xticks(list(threads), [str(t) for t in threads])
            axis.set_yscale("log")
            axis.set_xlabel("threads")
            axis.grid(True, which="both", alpha=0.3)
        axes[0].set_ylabel("requests/s (median of rounds, log scale)")
        handles, labels = axes[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
        figure.suptitle(f"Throughput by client on loopback ({server}, {env} environment); thick lines: sessionpool")
        figure.tight_layout(rect=(0, 0.14, 1, 0.95))
        figure.savefig(path, dpi=120)
    finally:
        plt.close(figure)
