"""The proxemics diffusion prior (CloseApp, CVPR 2025): a two-person temporal denoiser
conditioned on 2D keypoints, its training, its uses in the window optimiser, and its
ONNX / TensorRT runtimes.

    model.py        motion representation (encode/decode) and the Denoiser + PriorConfig
    diffusion.py    noise schedule, q_sample, DDIM sampling
    data.py         training windows from the synthetic world; Hi4D / CHI3D / InterHuman loaders
    train.py        `interaction-recon train-prior`
    guidance.py     load_prior, condition, sample_motion, PriorRegulariser (BUDDI-style), PriorMotion (CloseApp-style)
    export.py       ONNX export, onnxruntime runtime, runtime selection
    tensorrt_runtime.py  TensorRT engine builder and runner
    cli.py          the train-prior / export-prior subcommands

Import the modules themselves: this package file imports nothing, so the CLI's argument
parser does not load torch.
"""
