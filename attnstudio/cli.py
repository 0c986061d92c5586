"""The `attnstudio` command: the window by default (on a workspace file, ``attnstudio
PATH.attn``), and trace / lessons / export / bench.

Bad arguments print one line (``attnstudio: error: …``) and exit with status 2; no
traceback ever reaches the user for input they typed. The same holds for an output that
cannot be written (a full disk, a closed stdout); a reader that stops early (``| head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from attnstudio import __version__

SUBCOMMANDS = ("trace", "lessons", "export", "bench", "recover")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line (and exits 2) instead of usage + error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _fail(message: str) -> int:
    """Say ``message`` on stderr as one line and return 2; with stderr closed or unwritable,
    the status alone says it (never print to stdout, never a second error)."""
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            print(f"attnstudio: error: {message}", file=sys.stderr, flush=True)
    return 2


class _OutputError(Exception):
    """Standard output cannot be written (a full disk, an I/O error): the environment's fault."""


class _GuardedStdout:
    """sys.stdout for one command: a failed write or flush becomes _OutputError, so it is told
    apart from an OSError of the command's own files. A broken pipe stays BrokenPipeError."""

    def __init__(self, stream: object) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[attr-defined, no-any-return]
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc.strerror or str(exc)) from exc

    def flush(self) -> None:
        try:
            self._stream.flush()  # type: ignore[attr-defined]
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc.strerror or str(exc)) from exc

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _discard_stdout(stream: object) -> None:
    """Point stdout's descriptor at the null device, so the interpreter's own flush at exit
    finds nowhere to fail and prints no second report."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
        pass


def _run_command(args: argparse.Namespace) -> int:
    """Run one subcommand; every failure of input or environment is one line and status 2.

    stdout is flushed before returning, inside the guard, so a full disk is seen here and
    not by the interpreter at exit (which would print a traceback-like report and exit 120).
    """
    from attnstudio.core.errors import AttnStudioError

    stream = sys.stdout
    if stream is None:  # started with stdout closed (`>&-`): print() would drop everything
        return _fail("standard output is closed: there is nowhere to write the output")
    sys.stdout = _GuardedStdout(stream)  # type: ignore[assignment]
    try:
        code = int(_COMMANDS[args.command](args))
        sys.stdout.flush()
        return code
    except AttnStudioError as exc:
        return _fail(str(exc))
    except BrokenPipeError:  # `attnstudio trace … | head`
        _discard_stdout(stream)
        return 0
    except _OutputError as exc:
        _discard_stdout(stream)
        return _fail(f"cannot write to standard output: {exc}")
    finally:
        sys.stdout = stream


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, not {text}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(p) for p in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (320 <= w <= 7680 and 240 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"{text} is outside 320x240 .. 7680x4320")
    return w, h


def _add_model_options(p: argparse.ArgumentParser) -> None:
    from attnstudio.core.normalizers import NORMALIZERS

    p.add_argument("--heads", type=int, default=None, help="number of heads h (d_k = d_model / h); default 1")
    p.add_argument("--d-model", type=int, default=None, help="embedding width d_model; default 4")
    p.add_argument("--layers", type=int, default=None, help="stacked layers (residual between); default 1")
    p.add_argument("--causal", action="store_true", default=None, help="mask every later token (GPT-style)")
    _add_mask_options(p)
    p.add_argument("--no-scale", action="store_true", default=None, help="do not divide scores by √d_k")
    p.add_argument("--temperature", type=_positive_float, default=None, help="softmax temperature T > 0")
    p.add_argument("--normalizer", choices=tuple(NORMALIZERS), default=None)
    p.add_argument("--positional", action="store_true", default=None, help="add sinusoidal positions to X")
    p.add_argument("--seed", type=int, default=None, help="seed of the toy embeddings and weights")
    p.add_argument("--backend", choices=("numpy", "cupy", "auto"), default=None)


def _add_mask_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--padding", metavar="POSITIONS", default=None,
                   help="the padding mask: these tokens (positions from 0, e.g. \"5,6\") are padding, and no "
                   "query attends to them")
    p.add_argument("--mask-cells", metavar="CELLS", default=None,
                   help="a custom mask: these (query,key) cells (positions from 0, e.g. \"3,3 3,4\") are "
                   "masked: −∞ before the normalizer, weight exactly 0 after")


def _drawn_mask(args: argparse.Namespace) -> dict[str, object]:
    """The mask --padding or --mask-cells asks for, as model changes ({} for neither);
    MaskError for text that is not positions, or for two masks at once."""
    from attnstudio.core.errors import MaskError
    from attnstudio.core.masks import parse_cells_text, parse_positions_text

    given = [name for name, value in (("--causal", getattr(args, "causal", None)), ("--padding", args.padding),
                                      ("--mask-cells", args.mask_cells)) if value]
    if len(given) > 1:
        raise MaskError(f"give one mask, not {' and '.join(given)}")
    if args.padding is not None:
        return {"mask": "padding", "padding": parse_positions_text(args.padding)}
    if args.mask_cells is not None:
        return {"mask": "custom", "mask_cells": parse_cells_text(args.mask_cells)}
    return {}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="attnstudio",
        description="Attention Studio: see, edit and step through every number of self-attention.",
        epilog="Subcommands: trace, lessons, export, bench, recover (attnstudio SUBCOMMAND --help). "
        "With no subcommand, opens the window (on PATH.attn, a saved workspace, when given).",
    )
    parser.add_argument("file", nargs="?", metavar="PATH.attn", help="open the window on this workspace file")
    parser.add_argument("--version", action="version", version=f"attnstudio {__version__}")
    parser.add_argument("--workspace", metavar="PATH", help="open the window on a workspace file")
    parser.add_argument("--lesson", metavar="ID|PATH", help="open the window on a lesson")
    parser.add_argument("--model", metavar="PATH", help="open the window on a real model (a folder with "
                        "config.json, model.safetensors and tokenizer.json; BERT encoders)")
    parser.add_argument(
        "--self-test", action="store_true", help="offscreen check of the whole app; exit 0 if all is well"
    )
    return parser


def build_sub_parsers() -> argparse.ArgumentParser:
    parser = _Parser(prog="attnstudio")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    tr = sub.add_parser("trace", help="print every stage's numbers")
    tr.add_argument("sentence", nargs="?", help="the sentence to attend over")
    tr.add_argument("--lesson", metavar="ID|PATH", help="print a lesson's numbers instead of a sentence's")
    tr.add_argument("--workspace", metavar="PATH.attn", help="print a saved workspace's numbers (its sentence, "
                    "settings and matrices)")
    tr.add_argument("--step", type=int, help="only this step of the lesson (1-based)")
    tr.add_argument("--model", metavar="PATH", help="run a real model (a folder with config.json, "
                    "model.safetensors and tokenizer.json; BERT encoders) on the sentence")
    tr.add_argument("--layer", type=int, default=None, help="only this layer (1-based)")
    tr.add_argument("--head", type=int, default=None, help="only this head of each layer (1-based)")
    tr.add_argument("--format", choices=("table", "json", "csv"), default="table")
    _add_model_options(tr)

    sub.add_parser("lessons", help="list the built-in lessons")

    ex = sub.add_parser("export", help="lesson slides, or a workspace's or sentence's stages and matrices, "
                        "headless")
    src = ex.add_mutually_exclusive_group(required=True)
    src.add_argument("--lesson", metavar="ID|PATH", help="every step as slides: png, pdf or gif into DIR")
    src.add_argument("--workspace", metavar="PATH.attn", help="a saved workspace's stage or matrix into FILE")
    src.add_argument("--sentence", metavar="TEXT", help="a sentence's stage or matrix into FILE")
    ex.add_argument("--out", required=True, metavar="DIR|FILE", help="a folder for --lesson, else a file")
    ex.add_argument("--format", choices=("png", "pdf", "gif", "svg", "csv", "npy"), default=None,
                    help="default: png, or what FILE's suffix says")
    ex.add_argument("--size", type=_size, default=None, metavar="WxH",
                    help="slides 1920x1080, stage pictures 1280x720, GIFs 960x540 by default")
    ex.add_argument("--stage", default=None, help="the stage to draw or whose matrix to write (default: the "
                    "one on view); a gif steps through all")
    ex.add_argument("--matrix", default=None, help="csv/npy: any matrix (x, q, k, v, scores, weights, output, "
                    "concat, heads, w_q, …) instead of the stage's")
    ex.add_argument("--layer", type=int, default=None, help="1-based; default: the one on view")
    ex.add_argument("--head", type=int, default=None, help="1-based; default: the one on view")
    ex.add_argument("--theme", choices=("light", "dark"), default="light", help="pictures' theme (default light)")
    _add_mask_options(ex)

    rc = sub.add_parser("recover", help="list the unsaved work written aside by the window (autosave)")
    rc.add_argument("--list", action="store_true", required=True,
                    help="print one line per recovery file: its path, time and sentence")

    be = sub.add_parser("bench", help="time the pipeline against N on each available backend, PyTorch as a peer")
    be.add_argument("--sizes", nargs="+", default=["16,64,256,1024,2048"], metavar="N",
                    help="token counts, separated by spaces or commas")
    be.add_argument("--d-k", type=int, default=64)
    be.add_argument("--repeat", type=int, default=5, help="timings per size after one warm-up (the median counts)")
    be.add_argument("--format", choices=("table", "json"), default="table")
    be.add_argument("--json", metavar="PATH", help="also write the figures and the machine to this JSON file")
    be.add_argument("--gui", action="store_true", help="also measure edit → repaint and cold start to first "
                    "paint in the window (offscreen)")
    be.add_argument("--gui-sizes", nargs="+", default=["8,64,512,2048"], metavar="N",
                    help="token counts of the edit → repaint measurement")
    be.add_argument("--gui-edits", type=int, default=20, help="edits timed at each of --gui-sizes")
    be.add_argument("--cold-runs", type=int, default=3, help="cold starts timed (the median counts)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SUBCOMMANDS:
        return _run_command(build_sub_parsers().parse_args(args_list))
    parser = build_parser()
    args = parser.parse_args(args_list)
    workspace = args.workspace
    if args.file is not None:
        from attnstudio.studio.workspace import SUFFIX

        if not args.file.lower().endswith(SUFFIX):
            parser.error(f"{args.file!r} is neither a command ({', '.join(SUBCOMMANDS)}) nor a workspace file "
                         f"(*{SUFFIX})")
        if workspace is not None:
            parser.error("give the workspace once: PATH.attn or --workspace PATH")
        workspace = args.file
    if args.model is not None and args.lesson is not None:
        parser.error("--model and --lesson: lessons run on the toy model; give one of them")
    if args.self_test:
        from attnstudio.qt.selftest import run_self_test

        return run_self_test()
    from attnstudio.qt.display_check import display_problem

    problem = display_problem()  # before Qt, which aborts the process without a display
    if problem is not None:
        return _fail(problem)
    from attnstudio.qt.app import run_app

    # A workspace that cannot be read is reported in the window (as File > Open does).
    return run_app(lesson=args.lesson, workspace=workspace, model=args.model)


def _settings_from(args: argparse.Namespace, base: object | None = None):  # type: ignore[no-untyped-def]
    from attnstudio.core.settings import Settings

    base_settings = base if isinstance(base, Settings) else Settings()
    changes = {
        "heads": args.heads,
        "d_model": args.d_model,
        "layers": args.layers,
        "temperature": args.temperature,
        "normalizer": args.normalizer,
        "seed": args.seed,
        "backend": args.backend,
        "mask": "causal" if args.causal else _drawn_mask(args).get("mask"),
        "scale": False if args.no_scale else None,
        "positional": True if args.positional else None,
    }
    return base_settings.with_(**{k: v for k, v in changes.items() if v is not None}).validated()


def _cmd_trace(args: argparse.Namespace) -> int:
    from attnstudio.core.formats import trace_to_csv, trace_to_json, trace_to_table
    from attnstudio.core.pipeline import compute

    if args.model is not None and args.sentence is None and args.lesson is None and args.workspace is None:
        return _fail("trace --model PATH needs a SENTENCE")
    if args.lesson is None and args.sentence is None and args.workspace is None:
        return _fail("trace needs a SENTENCE, --lesson ID or --workspace PATH.attn")
    if args.workspace is not None and (args.lesson is not None or args.sentence is not None):
        return _fail("give either --workspace or a SENTENCE / --lesson, not both")
    if args.lesson is not None and args.sentence is not None:
        return _fail("give either a SENTENCE or --lesson, not both")
    if args.step is not None and args.lesson is None:
        return _fail("--step needs --lesson")
    for key in ("layer", "head"):
        value = getattr(args, key)
        if value is not None and value < 1:
            return _fail(f"--{key} counts from 1, not {value}")
    if args.model is not None:
        if args.lesson is not None or args.workspace is not None:
            return _fail("--model traces a SENTENCE, not a --lesson or --workspace")
        fixed = [f"--{k.replace('_', '-')}" for k in _TOY_OPTIONS if getattr(args, k) is not None]
        if fixed:
            return _fail(f"{', '.join(fixed)} cannot be set with --model: the model's folder fixes its sizes "
                         "and stages")
    cells = {k: v for k, v in _drawn_mask(args).items() if k != "mask"}
    if args.model is not None:
        from attnstudio.core.model_folder import load_model

        traces = [load_model(args.model).trace(args.sentence, args.backend or "numpy")]
        lesson = None
    elif args.workspace is not None:
        traces = [_workspace_trace(args)]
        lesson = None
    elif args.lesson is None:
        traces = [compute(args.sentence, _settings_from(args), **cells)]  # type: ignore[arg-type]
        lesson = None
    else:
        from dataclasses import replace

        from attnstudio.core.lessons import compute_step, load_lesson

        lesson = load_lesson(args.lesson)
        steps = list(enumerate(lesson.steps, start=1))
        if args.step is not None:
            if not 1 <= args.step <= len(steps):
                return _fail(f"lesson {lesson.id!r} has steps 1..{len(steps)}, not {args.step}")
            steps = [steps[args.step - 1]]
        # Options given on the command line win over the step's settings.
        traces = [compute_step(replace(step.state, settings=_settings_from(args, step.state.settings), **cells))
                  for _, step in steps]

    layer = None if args.layer is None else args.layer - 1
    head = None if args.head is None else args.head - 1
    for t in traces:
        _check_part(t, args.layer, args.head)
    if args.format == "json":
        objs = [trace_to_json(t, layer, head) for t in traces]
        if lesson is not None:
            from attnstudio.core.predict import step_predict_json

            for obj, (index, _), trace in zip(objs, steps, traces, strict=True):
                obj["predict"] = step_predict_json(lesson, index - 1, trace)
        if lesson is None:
            doc: object = objs[0]
        elif args.step is not None:
            doc = {"lesson": lesson.id, "step": args.step, **objs[0]}
        else:
            doc = {"lesson": lesson.id, "steps": objs}
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
        return 0
    render = trace_to_table if args.format == "table" else trace_to_csv
    for i, t in enumerate(traces):
        if lesson is not None:
            number = args.step if args.step is not None else i + 1
            title = f"lesson {lesson.id}, step {number}: {lesson.steps[number - 1].title}"
            sys.stdout.write(("" if i == 0 else "\n") + ("# " if args.format == "csv" else "### ") + title + "\n")
        sys.stdout.write(render(t, layer=layer, head=head))
    return 0


# The options that set the toy model, which a real model's folder fixes.
_TOY_OPTIONS = ("heads", "d_model", "layers", "causal", "no_scale", "temperature", "normalizer", "positional",
                "seed", "padding", "mask_cells")


def _check_part(trace, layer: int | None, head: int | None) -> None:  # type: ignore[no-untyped-def]
    """Refuse a 1-based --layer / --head the trace does not have, naming the valid range."""
    from attnstudio.core.errors import AttnStudioError

    if layer is not None and layer > len(trace.layers):
        raise AttnStudioError(f"--layer {layer} does not exist: this trace has layers 1..{len(trace.layers)}")
    heads = len(trace.layers[0].heads)
    if head is not None and head > heads:
        raise AttnStudioError(f"--head {head} does not exist: this trace has heads 1..{heads}")


def _workspace_trace(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The trace of a workspace's inputs, as the window computes them; options given on the
    command line change its settings as the window's controls would (a new size re-seeds)."""
    from attnstudio.core.errors import AttnStudioError
    from attnstudio.studio.inputs import run
    from attnstudio.studio.model import StudioModel
    from attnstudio.studio.workspace import load

    snap = load(args.workspace)
    model = StudioModel()
    model.restore(snap)
    settings = _settings_from(args, snap.settings)
    cells = {k: v for k, v in _drawn_mask(args).items() if k != "mask"}
    if settings != snap.settings or cells:
        model.apply(settings=settings, **cells)
    inputs = model.inputs()
    if inputs.error is not None:
        raise AttnStudioError(f"{args.workspace}: {inputs.error}")
    return run(inputs)


def _cmd_lessons(args: argparse.Namespace) -> int:
    from attnstudio.core.lessons import builtin_lessons

    lessons = builtin_lessons()
    width = max(len(lesson.id) for lesson in lessons)
    for lesson in lessons:
        print(f"{lesson.id.ljust(width)}  {lesson.title}  ({len(lesson.steps)} steps)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    if args.lesson is not None:
        from attnstudio.qt.export import export_lesson

        if args.stage is not None or args.matrix is not None or args.layer is not None or args.head is not None:
            return _fail("--stage, --matrix, --layer and --head are for --workspace or --sentence: a lesson "
                         "exports every step")
        if args.padding is not None or args.mask_cells is not None:
            return _fail("--padding and --mask-cells are for --workspace or --sentence: a lesson sets its own masks")
        suffix = args.out.lower().rsplit(".", 1)[-1] if "." in args.out else ""
        fmt = args.format or (suffix if suffix in ("pdf", "gif") else "png")  # --out it-cat.pdf
        return export_lesson(args.lesson, args.out, fmt, args.size or ((960, 540) if fmt == "gif" else (1920, 1080)))
    from attnstudio.qt.export_stages import export_work, format_for
    from attnstudio.studio.model import StudioModel
    from attnstudio.studio.workspace import load

    snap = load(args.workspace) if args.workspace is not None else StudioModel(args.sentence).snapshot()
    drawn = _drawn_mask(args)
    if drawn:  # the mask drawn on the command line, on the workspace's or sentence's own work
        model = StudioModel()
        model.restore(snap)
        model.apply(settings={"mask": drawn.pop("mask")}, **drawn)
        snap = model.snapshot()
    index = {"layer": args.layer, "head": args.head}
    for key, value in index.items():
        if value is not None and value < 1:
            return _fail(f"--{key} counts from 1, not {value}")
    return export_work(snap, args.out, format_for(args.out, args.format), args.stage, args.matrix,
                       None if args.layer is None else args.layer - 1, None if args.head is None else args.head - 1,
                       args.size, args.theme)


def _cmd_recover(args: argparse.Namespace) -> int:
    from attnstudio.qt.user_paths import recovery_folder
    from attnstudio.studio.recovery import entries

    folder = recovery_folder()
    found = entries(folder)
    for entry in found:
        print(entry.line())
    if not found:
        print(f"attnstudio: no recovery files in {folder}", file=sys.stderr)
    return 0


def _token_counts(option: str, values: list[str]) -> list[int]:
    """``--sizes 16 64`` or ``--sizes 16,64`` as whole numbers; AttnStudioError otherwise."""
    from attnstudio.core.errors import AttnStudioError

    text = " ".join(values)
    try:
        sizes = [int(s) for s in text.replace(",", " ").split()]
    except ValueError:
        raise AttnStudioError(f"{option} must be whole numbers separated by spaces or commas, not {text!r}") from None
    if not sizes or min(sizes) < 1 or max(sizes) > 65536:
        raise AttnStudioError(f"{option} must be token counts from 1 to 65536")
    return sizes


def _cmd_bench(args: argparse.Namespace) -> int:
    from attnstudio.core.atomic import check_target, write_bytes
    from attnstudio.core.bench import format_table, machine_info, run_bench

    sizes = _token_counts("--sizes", args.sizes)
    gui_sizes = _token_counts("--gui-sizes", args.gui_sizes)
    for option, value, top in (("--repeat", args.repeat, 1000), ("--gui-edits", args.gui_edits, 1000),
                               ("--cold-runs", args.cold_runs, 100)):
        if not 1 <= value <= top:
            return _fail(f"{option} must be 1..{top}, not {value}")
    if args.json is not None:
        check_target(args.json)  # a path that cannot be written is refused before minutes of timing
    machine = machine_info()  # before timing: the load average is then the other programs'
    rows = run_bench(sizes, d_k=args.d_k, repeat=args.repeat, progress=sys.stderr)
    doc: dict[str, object] = {"machine": machine, "d_k": args.d_k, "repeat": args.repeat, "rows": rows}
    if args.format == "table":
        sys.stdout.write(format_table(rows, machine))
        sys.stdout.flush()
    if args.gui:
        gui = _gui_latency(gui_sizes, args.gui_edits, args.cold_runs)
        doc["gui"] = gui
        if args.format == "table":
            sys.stdout.write(_gui_table(gui))
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=1, allow_nan=False)
        sys.stdout.write("\n")
    if args.json is not None:
        write_bytes(args.json, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8"))
    return 0


def _gui_latency(sizes: list[int], edits: int, cold_runs: int) -> dict[str, object]:
    """Edit → repaint medians at each N and cold start to first paint, measured by
    qt/latency.py in the real window, offscreen (imported here: bench alone never loads Qt)."""
    import statistics
    import subprocess

    from attnstudio.core.errors import AttnStudioError

    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the measurement is defined offscreen, display or not
    from attnstudio.qt.latency import measure_cold_start, measure_edit_latency

    print(f"bench: measuring edit → repaint at N = {', '.join(map(str, sizes))} ({edits} edits each) and "
          f"{cold_runs} cold start(s)…", file=sys.stderr, flush=True)
    try:
        edit = measure_edit_latency(sizes, edits)
        cold = measure_cold_start(cold_runs)
    except ImportError as exc:  # PySide6 or pyqtgraph missing: the window cannot be measured
        raise AttnStudioError(f"--gui needs the window's packages: {exc}") from None
    except (RuntimeError, TimeoutError, subprocess.TimeoutExpired) as exc:
        lines = str(exc).strip().splitlines()
        raise AttnStudioError(f"--gui: {lines[0] if lines else type(exc).__name__}") from None
    return {
        "edit_ms": {str(r.n): r.median_ms for r in edit},
        "edit_p90_ms": {str(r.n): r.p90_ms for r in edit},
        "edit_compute_ms": {str(r.n): r.compute_median_ms for r in edit},
        "edits": edits,
        "cold_start_s": statistics.median(cold),
        "cold_start_runs_s": cold,
    }


def _gui_table(gui: dict) -> str:  # type: ignore[type-arg]
    lines = ["", "edit → repaint: one W_Q cell, weights stage on view, offscreen 1280×720, NumPy "
             f"(median of {gui['edits']} edits)", f"{'N':>7} {'median ms':>10} {'p90 ms':>8} {'compute ms':>11}"]
    for n, ms in gui["edit_ms"].items():
        lines.append(f"{n:>7} {ms:>10.1f} {gui['edit_p90_ms'][n]:>8.1f} {gui['edit_compute_ms'][n]:>11.1f}")
    runs = ", ".join(f"{s:.2f}" for s in gui["cold_start_runs_s"])
    lines.append(f"cold start to first paint: {gui['cold_start_s']:.2f} s (median of {runs})")
    return "\n".join(lines) + "\n"


_COMMANDS = {"trace": _cmd_trace, "lessons": _cmd_lessons, "export": _cmd_export, "bench": _cmd_bench,
             "recover": _cmd_recover}
