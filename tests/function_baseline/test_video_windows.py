import pytest
import torch

from function_baseline.video_windows import VideoWindows, padded_stream_rows, sequence_runs

# Sequence lengths chosen to cover a single frame, sequences shorter than the window and long ones.
LENGTHS = (5, 12, 1, 7, 20)


def _sequence(lengths=LENGTHS):
    return torch.cat([torch.full((n,), 10 + k, dtype=torch.long) for k, n in enumerate(lengths)])


def _hand_padded(lengths, pad):
    """Per sequence, the row list with its first/last row repeated ``pad`` times (by hand)."""
    out, start = [], 0
    for n in lengths:
        rows = list(range(start, start + n))
        out.append([rows[0]] * pad + rows + [rows[-1]] * pad)
        start += n
    return out


def test_sequence_runs_hand_values():
    starts, lengths, run = sequence_runs(_sequence((3, 1, 2)))
    assert starts.tolist() == [0, 3, 4]
    assert lengths.tolist() == [3, 1, 2]
    assert run.tolist() == [0, 0, 0, 1, 2, 2]
    with pytest.raises(ValueError, match=r"\(N,\)"):
        sequence_runs(torch.zeros(2, 2, dtype=torch.long))


@pytest.mark.parametrize("frames", [1, 5, 9, 27])
def test_windows_equal_hand_built_edge_padded_slices(frames):
    pad = (frames - 1) // 2
    seq = _sequence()
    windows = VideoWindows(seq, frames)
    pose2d = torch.arange(len(seq) * 32, dtype=torch.float32).reshape(-1, 16, 2)
    gathered = pose2d[windows.rows(torch.arange(len(seq)))]           # (N, T, 16, 2)
    start = 0
    for n, padded in zip(LENGTHS, _hand_padded(LENGTHS, pad)):
        for i in range(n):                     # sequence starts, middles and ends alike
            hand = pose2d[torch.tensor(padded[i:i + frames])]
            torch.testing.assert_close(gathered[start + i], hand, rtol=0, atol=0)
        start += n
    assert windows.pad == pad and windows.frames == frames and len(windows) == len(seq)


def test_rows_of_a_shuffled_batch_match_the_ordered_ones():
    seq = _sequence()
    windows = VideoWindows(seq, 9)
    all_rows = windows.rows(torch.arange(len(seq)))
    idx = torch.randperm(len(seq), generator=torch.Generator().manual_seed(0))[:11]
    assert torch.equal(windows.rows(idx), all_rows[idx])
    assert torch.equal(windows.to("cpu").rows(idx), all_rows[idx])


def test_even_window_is_rejected():
    with pytest.raises(ValueError, match="odd"):
        VideoWindows(_sequence(), 4)


@pytest.mark.parametrize("pad", [0, 1, 4, 13])
def test_padded_stream_is_the_concatenation_of_edge_padded_sequences(pad):
    seq = _sequence()
    stream, out = padded_stream_rows(seq, pad)
    hand = [r for padded in _hand_padded(LENGTHS, pad) for r in padded]
    assert stream.tolist() == hand
    # Output position out[r] of a valid conv of width 2 pad + 1 sees r's own window.
    frames = 2 * pad + 1
    windows = VideoWindows(seq, frames).rows(torch.arange(len(seq)))
    slices = torch.stack([stream[o:o + frames] for o in out.tolist()])
    assert torch.equal(slices, windows)
