"""An optional source of contact evidence: a vision-language model asked, on a few key frames,
which body parts of the two people touch (Ask-Pose-Unite's question, its part vocabulary).

The model is the user's, served behind an OpenAI-compatible chat-completions endpoint that
accepts images (vLLM, Ollama, ...): ``fitting.contact.language.url`` and ``.model``. Requests
run on worker threads; the stream never waits for them when live (``answers(wait=False)``)
and at most ``timeout`` s offline. Unreachable, late or malformed answers and part names
outside the vocabulary are logged and counted in :attr:`LanguageSource.counts`, never raised.
The answer's sides are checked against the keypoints later, with the learned evidence
(:func:`interaction_recon.contact.evidence.correct_chirality`). No real model was measured
while building this; the tests talk to a local HTTP server that speaks the protocol.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from interaction_recon.body.skeleton import COARSE_GROUPS, COARSE_PARTS, coarse_part_members

log = logging.getLogger(__name__)
VOCABULARY = tuple(COARSE_PARTS) + tuple(COARSE_GROUPS)
PROMPT = (
    "Two people are in this image. Person A is inside the box {box_a} and person B inside the box {box_b} "
    "(pixels: x0, y0, x1, y1). Which body parts of person A touch which body parts of person B right now? "
    "Use each person's own left and right, not the image's. Use only these part names: {parts}. "
    'Answer with JSON only, no other text: {{"contacts": [["<part of A>", "<part of B>"], ...]}}; '
    'an empty list when they do not touch.'
)


def parse_answer(text: str) -> tuple[list[tuple[str, str]], int]:
    """(part pairs of the vocabulary, expanded to COARSE_PARTS, and the number of entries
    dropped as unknown or malformed) from a model's reply. ValueError when there is no JSON
    object with a ``contacts`` list in it."""
    match = re.search(r"\{.*\}", text, re.S)
    if match is None:
        raise ValueError("no JSON object in the answer")
    data = json.loads(match.group(0))
    if not isinstance(data, dict) or not isinstance(data.get("contacts"), list):
        raise ValueError("the answer has no 'contacts' list")
    pairs, dropped = [], 0
    for entry in data["contacts"]:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
            dropped += 1
            continue
        try:
            pairs += [(a, b) for a in coarse_part_members(entry[0]) for b in coarse_part_members(entry[1])]
        except KeyError:
            dropped += 1
    return pairs, dropped


def _jpeg_data_url(rgb: np.ndarray, quality: int = 85) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(buf, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def keypoint_box(keypoints: np.ndarray, confidence: np.ndarray, min_confidence: float) -> list[int] | None:
    """[x0, y0, x1, y1] px of a person's confident keypoints [K, 2] (None with fewer than 2)."""
    ok = (confidence >= min_confidence) & np.isfinite(keypoints).all(-1)
    if ok.sum() < 2:
        return None
    lo, hi = keypoints[ok].min(0), keypoints[ok].max(0)
    return [int(v) for v in (*lo, *hi)]


class LanguageSource:
    """Asks the configured endpoint about key frames; ``config`` is a
    :class:`interaction_recon.config.LanguageConfig`. ``counts``: asked, answered, pairs,
    skipped_busy, timeout, http_error, unreachable, malformed, unknown_parts, late."""

    def __init__(self, config, every: int, min_confidence: float = 0.2):
        self.config = config
        self.every = max(1, int(every))  # frames between key frames
        self.min_confidence = min_confidence
        self.counts: Counter = Counter()
        self._pool = ThreadPoolExecutor(max_workers=max(1, config.max_pending), thread_name_prefix="language")
        self._pending: dict[int, Future] = {}
        self._lock = threading.Lock()
        self._last = None

    def offer(self, frame: int, rgb: np.ndarray, keypoints: np.ndarray, confidence: np.ndarray) -> bool:
        """Ask about this frame if it is a key frame (``every`` frames after the last one asked)
        and both people were seen; keypoints [2, K, 2], confidence [2, K]. Returns whether asked."""
        if self._last is not None and frame - self._last < self.every:
            return False
        boxes = [keypoint_box(keypoints[p], confidence[p], self.min_confidence) for p in range(2)]
        if any(b is None for b in boxes):
            return False
        with self._lock:
            if sum(not f.done() for f in self._pending.values()) >= self.config.max_pending:
                self.counts["skipped_busy"] += 1
                return False
            self._last = frame
            self.counts["asked"] += 1
            self._pending[frame] = self._pool.submit(self._ask, np.array(rgb, copy=True), boxes)
        return True

    def _ask(self, rgb: np.ndarray, boxes: list[list[int]]) -> list[tuple[str, str]]:
        cfg = self.config
        text = PROMPT.format(box_a=boxes[0], box_b=boxes[1], parts=", ".join(VOCABULARY))
        body = {"model": cfg.model, "temperature": 0, "max_tokens": 300,
                "messages": [{"role": "user", "content": [{"type": "text", "text": text},
                                                          {"type": "image_url", "image_url": {"url": _jpeg_data_url(rgb)}}]}]}
        headers = {"Content-Type": "application/json"}
        if cfg.api_key:
            headers["Authorization"] = f"Bearer {cfg.api_key}"
        request = urllib.request.Request(cfg.url, data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
                reply = json.loads(response.read().decode())
            content = reply["choices"][0]["message"]["content"]
            pairs, dropped = parse_answer(content if isinstance(content, str) else json.dumps(content))
        except urllib.error.HTTPError as err:
            return self._failed("http_error", err)
        except (TimeoutError, OSError) as err:  # URLError is an OSError; a socket timeout is a TimeoutError
            return self._failed("timeout" if "timed out" in str(err) else "unreachable", err)
        except (ValueError, KeyError, IndexError, TypeError) as err:
            return self._failed("malformed", err)
        with self._lock:
            self.counts["answered"] += 1
            self.counts["pairs"] += len(pairs)
            self.counts["unknown_parts"] += dropped
        return pairs

    def _failed(self, kind: str, err: Exception) -> list:
        with self._lock:
            self.counts[kind] += 1
            first = self.counts[kind] == 1
        (log.warning if first else log.debug)("language model %s (%s): %s", kind, self.config.url, err)
        return []

    def answers(self, frames: np.ndarray, wait: bool) -> list[tuple[int, str, str, float]]:
        """(absolute frame, part_a, part_b, probability) of the answered key frames within
        ``frames`` [L]; with ``wait`` each pending request gets up to ``timeout`` s more, else
        unanswered ones are left for a later window. Requests older than the window are dropped
        (counted ``late``)."""
        out = []
        with self._lock:
            items = sorted(self._pending.items())
        for frame, future in items:
            if frame < frames[0]:
                if not future.done():
                    self.counts["late"] += 1
                with self._lock:
                    self._pending.pop(frame, None)
                continue
            if frame > frames[-1]:
                continue
            if not future.done() and wait:
                try:
                    future.result(timeout=self.config.timeout)
                except FutureTimeout:
                    self.counts["late"] += 1
            if future.done():
                out += [(frame, a, b, self.config.probability) for a, b in future.result()]
        return out
