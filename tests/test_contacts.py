"""Contact evidence (interaction_recon/contact): the learned map on a synthetic handshake,
nothing for two people apart, the language source's answers checked against the keypoints,
a hanging endpoint that never stalls the stream, hysteresis, ONNX parity, the metrics."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from interaction_recon.body.skeleton import COARSE_PARTS, mirror_part
from interaction_recon.config import Config, ContactConfig, LanguageConfig
from interaction_recon.contact import features
from interaction_recon.contact.evidence import ContactEstimator, segments
from interaction_recon.contact.language import LanguageSource, parse_answer
from interaction_recon.contact.model import ContactMap, load_model
from interaction_recon.eval import metrics

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def handshake(anny_body, anny_collider):
    """A synthetic handshake (seed 1000, held out from the contact map's training:
    contact/checkpoints/default.json), seen cleanly: the ground-truth BlazePose-33 points in
    pixels and in 3D, confidence 0.95 where visible (0.3 elsewhere)."""
    from interaction_recon.synth import world

    scene = world.make_scene("handshake", 1000, anny_body, anny_collider, size=(320, 320), images=False)
    gt = scene.gt
    conf = np.where(gt["visible_blazepose33"], 0.95, 0.3).astype(np.float32)
    return SimpleNamespace(scene=scene, kp=gt["blazepose33_2d"].astype(np.float32), conf=conf,
                           points=gt["blazepose33"].astype(np.float32), K=np.asarray(gt["K"], np.float64),
                           truth={(a, b) for _, a, b in gt["contact_parts"]},
                           frames={int(t) for t, _, _ in gt["contact_parts"]})


# Read at enter 0.4 / leave 0.25, the strictest setting of benchmarks/results/contact-thresholds.json
# whose held-out precision is above one half: at the default 0.5 the map finds 12 % of the
# held-out contact frames, and this clip peaks at 0.45-0.49 depending on the machine's float
# arithmetic in generating the scene (the map is weak: see the contact issue).
LEARNED = ContactConfig(source="learned", enter=0.4, leave=0.25)


def _found(evidence) -> set:
    return {(COARSE_PARTS[s.a], COARSE_PARTS[s.b]) for s in evidence.segments}


def test_a_handshake_gives_the_hand_contact_with_the_right_sides(handshake):
    hands = {p for p in handshake.truth if p[0].endswith("hand") and p[1].endswith("hand")}
    assert len(hands) == 1  # the clip's own contact: one hand pair, sides as scripted
    T = handshake.kp.shape[1]
    learned = ContactEstimator(LEARNED)
    ev = learned.window(handshake.kp, handshake.conf, handshake.points, np.ones(T, bool))
    assert hands <= _found(ev)
    assert not any("foot" in a or "foot" in b for a, b in _found(ev))
    span = [s for s in ev.segments if (COARSE_PARTS[s.a], COARSE_PARTS[s.b]) in hands]
    said = {t for s in span for t in range(s.start, s.end)}
    assert said & handshake.frames and len(said - handshake.frames) < len(said & handshake.frames)
    wrong_sides = {(mirror_part(a), b) for a, b in hands} | {(a, mirror_part(b)) for a, b in hands}
    assert not wrong_sides & _found(ev)
    # switched off, there is no evidence at all
    off = ContactEstimator(ContactConfig(source="none")).window(handshake.kp, handshake.conf, handshake.points,
                                                                 np.ones(T, bool))
    assert not off.segments and not off.available.any()


@pytest.mark.parametrize("source", [LEARNED, ContactConfig(source="keypoints")], ids=["learned", "keypoints"])
def test_two_people_a_metre_apart_give_no_contact(handshake, source):
    points = handshake.points.copy()
    points[1, :, :, 0] += 1.0  # person 1 a metre to the side, re-projected
    kp = _project(points, handshake.K)
    T = kp.shape[1]
    ev = ContactEstimator(source).window(kp, handshake.conf, points, np.ones(T, bool))
    assert ev.available.all() and not ev.segments


KEYPOINTS = ContactConfig(source="keypoints")
_RIGHT_HAND = COARSE_PARTS.index("right hand")


def _project(points: np.ndarray, K: np.ndarray) -> np.ndarray:
    return (points[..., :2] / points[..., 2:] * np.diag(K)[:2] + K[:2, 2]).astype(np.float32)


def _hands_joined(handshake) -> np.ndarray:
    """[2, T, 33, 3] m: the clip's bodies, person 1 moved each frame so that its right hand's
    anchor is on person 0's (a grip the image shows plainly)."""
    points = handshake.points.astype(np.float64).copy()
    anchor = np.einsum("k,ptkd->ptd", features.ANCHORS[_RIGHT_HAND], points)  # [2, T, 3]
    points[1] += (anchor[0] - anchor[1])[:, None]
    return points


def test_the_keypoint_source_finds_joined_hands_with_their_sides(handshake):
    points = _hands_joined(handshake)
    kp, T = _project(points, handshake.K), points.shape[1]
    conf = np.full(kp.shape[:3], 0.95, np.float32)
    ev = ContactEstimator(KEYPOINTS).window(kp, conf, points.astype(np.float32), np.ones(T, bool))
    assert _found(ev) == {("right hand", "right hand")}
    assert [(s.start, s.end) for s in ev.segments] == [(0, T)]  # one contact over the whole clip
    off = ContactEstimator(ContactConfig(source="none")).window(kp, conf, points.astype(np.float32), np.ones(T, bool))
    assert not off.segments


def test_the_keypoint_source_needs_the_fit_to_place_the_hands_together(handshake):
    points = _hands_joined(handshake)
    points[1] *= (1.0 + 1.5 / points[1, ..., 2:].mean())  # person 1 about 1.5 m further back, as seen the same
    kp, T = _project(points, handshake.K), points.shape[1]
    conf = np.full(kp.shape[:3], 0.95, np.float32)
    unchecked = ContactEstimator(KEYPOINTS).window(kp, conf, None, np.ones(T, bool))
    assert _found(unchecked) == {("right hand", "right hand")}  # the image alone cannot tell
    checked = ContactEstimator(KEYPOINTS).window(kp, conf, points.astype(np.float32), np.ones(T, bool))
    assert checked.available.all() and not checked.segments


def test_hysteresis_makes_one_contact_of_a_flickering_handshake():
    p = np.r_[np.zeros(10), 0.7, 0.45, 0.8, 0.35, 0.9, np.full(20, 0.6), 0.2, np.zeros(5), 0.9, 0.9, 0.0]
    assert segments(p, enter=0.5, leave=0.3, min_frames=4) == [(10, 35)]  # the 2-frame blip is dropped


class _ChatServer:
    """A local OpenAI-compatible chat-completions endpoint: answers ``content`` after ``delay`` s."""

    def __init__(self, content: str, delay: float = 0.0):
        outer = self
        self.requests: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                time.sleep(delay)
                reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the client gave up (timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/chat/completions"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_swapped_left_right_answer_of_the_language_source_is_corrected(handshake):
    (a, b), = {p for p in handshake.truth if p[0].endswith("hand") and p[1].endswith("hand")}
    flip = mirror_part
    server = _ChatServer(f'Sure. {{"contacts": [["{flip(a)}", "{flip(b)}"], ["left wing", "head"]]}}')
    try:
        source = LanguageSource(LanguageConfig(url=server.url, model="test-vlm", timeout=5.0), every=1)
        t = sorted(handshake.frames)[len(handshake.frames) // 2]
        assert source.offer(t, np.zeros((32, 32, 3), np.uint8), handshake.kp[:, t], handshake.conf[:, t])
        frames = np.arange(handshake.kp.shape[1])
        told = source.answers(frames, wait=True)
    finally:
        server.close()
    assert told == [(t, flip(a), flip(b), 0.8)]  # parsed, the unknown part dropped and counted
    assert source.counts["answered"] == 1 and source.counts["unknown_parts"] == 1
    content = server.requests[0]["messages"][0]["content"]
    assert server.requests[0]["model"] == "test-vlm" and content[1]["image_url"]["url"].startswith("data:image/jpeg")
    T = len(frames)
    ev = ContactEstimator(ContactConfig(source="none")).window(handshake.kp, handshake.conf, None, np.ones(T, bool),
                                                               told)
    assert _found(ev) == {(a, b)} and ev.corrected > 0


def test_a_hanging_language_endpoint_never_stalls_the_stream():
    from interaction_recon.ros.pipeline import Frame, Pipeline

    server = _ChatServer('{"contacts": []}', delay=3.0)
    cfg = Config()
    cfg.fitting.window, cfg.fitting.stride, cfg.fitting.refit_frames = 12, 4, 4
    cfg.fitting.iterations_rigid, cfg.fitting.iterations_alone, cfg.fitting.iterations, cfg.fitting.iterations_warm = 2, 2, 2, 2
    cfg.fitting.prior = "none"
    cfg.fitting.contact.language = LanguageConfig(url=server.url, model="m", timeout=0.3, frames_per_window=4)
    from interaction_recon.fitting.stream import WindowStream

    stream = WindowStream(cfg)
    rng = np.random.default_rng(0)
    base = rng.uniform(100, 300, (2, 33, 2)).astype(np.float32)

    seen = iter(range(1000))

    def perceive(rgb):
        return SimpleNamespace(keypoints=base + rng.normal(0, 1, base.shape).astype(np.float32),
                               confidence=np.full((2, 33), 0.9, np.float32), track_ids=np.array([1, 2]),
                               index=next(seen))

    published = []
    pipe = Pipeline(perceive, stream, lambda result, info: published.append(result), intake_queue=64, fit_queue=4)
    pipe.start()
    try:
        K = np.array([[300.0, 0, 160], [0, 300.0, 120], [0, 0, 1]])
        for i in range(24):
            pipe.submit(Frame(np.zeros((240, 320, 3), np.uint8), i / 30.0, K, time.monotonic()))
            time.sleep(0.02)
        deadline = time.monotonic() + 60.0
        while not pipe.idle() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pipe.idle()
    finally:
        pipe.stop()
        server.close()
    assert len(published) >= 2 and published[-1].frames[-1] == 23  # windows came to the end while every request hung
    assert stream.language.counts["asked"] >= 2 and stream.language.counts["answered"] == 0


def test_the_fit_reports_the_evidence_placed_on_its_bodies(anny_body, anny_collider):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_fitting import facing_camera, job_of, observe_params, small_config

    from interaction_recon.fitting.window import WindowFitter

    kp, conf = observe_params(anny_body, facing_camera(anny_body, 6, x=(-0.25, 0.25)))
    job = job_of(kp, conf)
    job.contacts = [(int(t), "left hand", "right hand", 0.9) for t in job.frames]  # side by side: the near hands
    cfg = small_config(iterations_rigid=4, iterations_alone=4, iterations=8, floor_sizing=False)
    result = WindowFitter(anny_body, cfg, anny_collider).fit(job)
    assert result.contact_evidence.all()
    assert {(c.part_a, c.part_b) for c in result.contacts} == {("left hand", "right hand")}
    assert sorted(c.frame for c in result.contacts) == job.frames.tolist()
    for c in result.contacts:
        assert c.confidence == pytest.approx(0.9, abs=1e-3) and 0 <= c.distance < 0.5 and np.isfinite(c.point).all()
    job.contacts = []
    quiet = WindowFitter(anny_body, cfg, anny_collider).fit(job)
    assert not quiet.contacts and not quiet.contact_evidence.any()  # no source: no evidence, and it says so


def test_parse_answer_rejects_what_is_not_an_answer():
    assert parse_answer('```json\n{"contacts": [["right arm", "back"]]}\n```')[0] == [
        ("right upper arm", "back"), ("right elbow", "back"), ("right forearm", "back")]
    with pytest.raises(ValueError):
        parse_answer("they are shaking hands")
    with pytest.raises(ValueError):
        parse_answer('{"touching": true}')


def test_the_onnx_export_gives_the_same_probabilities(tmp_path):
    net = load_model()
    x = np.random.default_rng(1).uniform(0, 1, (6, features.NUM_PARTS, features.NUM_PARTS, features.NUM_CHANNELS))
    x = x.astype(np.float32)
    torch_p = ContactMap(net).probabilities(x)
    onnx_p = ContactMap(net, "onnx", tmp_path / "contacts.onnx").probabilities(x)
    assert np.abs(torch_p - onnx_p).max() < 1e-4
    assert np.allclose(torch_p, ContactMap(net).probabilities(x[:, :, :, features.SWAP_CHANNELS].transpose(0, 2, 1, 3))
                       .transpose(0, 2, 1), atol=1e-5)  # the people's order does not matter


def test_false_contact_frames_counts_frames_without_a_true_contact():
    truth = [(2, "right hand", "right hand"), (3, "right hand", "right hand")]
    said = [(0, "left foot", "right foot"), (3, "right hand", "right hand"), (4, "right hand", "back")]
    assert metrics.false_contact_frames(said, truth, 6) == 0.5  # frames 0 and 4 of 0, 1, 4, 5
