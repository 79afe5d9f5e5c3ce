"""Contact evidence: which body parts of the two people touch, from the image.

    features.py   part anchors, 3D placement of the landmarks, per-frame features
    model.py      the contact-map network, its checkpoint, ONNX export and runtimes
    proximity.py  the rule-based source: a hand on the other body in the image, checked in 3D
    data.py       training examples from the synthetic world's vertex-level contacts
    train.py      training (``interaction-recon train-contacts``)
    evidence.py   per window: map, fused sources, chirality check, hysteresis
    language.py   optional vision-language model source (OpenAI-compatible endpoint)
"""
