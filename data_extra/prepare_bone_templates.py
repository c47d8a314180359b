"""Compute the bone-length template file ``bone_length_npy/hm36s15678_bl_templates.npy``
(docs/data_formats.md#bone-templates).

Rows S1, S5, S6, S7, S8; columns the 15 template-order bones; float32 metres; each value is the
subject's mean bone length over all its frames, with left and right sides averaged together
(``data.h36m_format.compute_bone_templates``). Input: ``data_3d_h36m.npz`` from
``data/prepare_data_h36m.py``. ``--output-dir`` is the data_extra folder (default: the folder of
this script, i.e. the repo's ``data_extra``); the file goes to ``<output-dir>/bone_length_npy/``,
with a ``.source.json`` record of the input file next to it: training then warns when it reads
other 3D data than the templates were made from (docs/data_formats.md#bone-templates).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data import h36m_format as fmt  # noqa: E402
from utils import skeleton  # noqa: E402
from utils.cli import add_output_options, script_main  # noqa: E402
from utils.io import DataError, check_output_path  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Compute the 5x15 bone-length templates of S1, S5, S6, S7, S8.")
    p.add_argument("--input", type=Path, required=True,
                   help="data_3d_h36m.npz made by data/prepare_data_h36m.py")
    add_output_options(p, Path(__file__).resolve().parent, "the data_extra folder")
    return p.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    out = check_output_path(fmt.file_templates(args.output_dir), args.force)
    positions_3d = fmt.load_positions_3d(args.input)
    try:
        templates = fmt.compute_bone_templates(positions_3d)
    except DataError as exc:
        raise DataError(f"{args.input}: {exc}") from None
    fmt.save_bone_templates(out, templates, made_from=args.input, kind="prepared")
    print(f"wrote {out}: {templates.shape[0]}x{templates.shape[1]} float32 metres "
          f"(source recorded in {fmt.template_record_path(out).name})")
    print("      " + " ".join(f"{name[:6]:>6}" for name in skeleton.TEMPLATE_BONE_NAMES))
    for subject, row in zip(fmt.TEMPLATE_SUBJECTS, templates):
        print(f"{subject:>5} " + " ".join(f"{v:6.4f}" for v in row))


main = script_main(parse_args, run)


if __name__ == "__main__":
    sys.exit(main())
