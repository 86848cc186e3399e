"""The extractor against a plain, list-based restatement of Magenta's melody extraction.

``reference_melodies`` follows the steps of Magenta's ``Melody.from_quantized_sequence``
(``ignore_polyphonic_notes=True``, ``pad_end=True``, ``gap_bars=1``) and its
``extract_melodies`` loop, written slowly and without the array tricks of
``symusic.data.melody``; with our one-bar minimum, both must agree on random note sets.
"""

import numpy as np

from symusic.data.melody import melodies_from_notes
from symusic.data.tokens import NO_EVENT, NOTE_OFF, pitch_to_token

BAR = 16


def set_length(events, steps):
    """Magenta's Melody.set_length: pad with NO_EVENT (ending a sustained note) or cut."""
    old = len(events)
    if steps <= old:
        del events[steps:]
        return
    events.extend([NO_EVENT] * (steps - old))
    for i in reversed(range(old)):
        if events[i] == NOTE_OFF:
            break
        if events[i] != NO_EVENT:
            events[old] = NOTE_OFF
            break


def last_on_off(events):
    last_off = len(events)
    for i in reversed(range(len(events))):
        if events[i] == NOTE_OFF:
            last_off = i
        if events[i] >= 2:
            return i, last_off
    raise ValueError("no events")


def reference_melodies(notes):
    """Melodies of ``[(start, end, pitch)]`` (steps, end > start), longer than a bar."""
    notes = sorted(notes, key=lambda n: (n[0], -n[2]))
    melodies, search = [], 0
    while True:
        candidates = [n for n in notes if n[0] >= search]
        if not candidates:
            return melodies
        origin = candidates[0][0] - (candidates[0][0] - search) % BAR
        events = []
        for start, end, pitch in candidates:
            start, end = start - origin, end - origin
            if events:
                last_on, last_off = last_on_off(events)
                if start == last_on:
                    continue
                if start - last_off >= BAR:
                    break
            set_length(events, end + 1)
            events[start] = pitch_to_token(pitch)
            events[end] = NOTE_OFF
            for i in range(start + 1, end):
                events[i] = NO_EVENT
        if events[-1] == NOTE_OFF:
            events.pop()
        music = len(events)
        set_length(events, music + (-music % BAR))
        search = origin + len(events)
        if music >= BAR:
            melodies.append(np.array(events, dtype=np.uint8))


def random_notes(rng):
    n = int(rng.integers(1, 30))
    starts = rng.integers(0, 240, n)
    ends = starts + rng.integers(1, 28, n)
    pitches = rng.integers(55, 80, n)
    return list(zip(starts.tolist(), ends.tolist(), pitches.tolist(), strict=True))


def test_extractor_matches_the_reference_on_random_note_sets():
    rng = np.random.default_rng(0)
    for _ in range(400):
        notes = random_notes(rng)
        rows = np.array(sorted(notes, key=lambda n: (n[0], -n[2])), dtype=np.int64)
        ours = melodies_from_notes(rows)
        theirs = reference_melodies(notes)
        assert len(ours) == len(theirs), notes
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=str(notes))
