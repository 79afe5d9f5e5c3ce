"""Applications over the library (they may use the synthetic world and the scorers; no
library module imports them):

    demo.py       the main job (``make demo``): replay a rendered handshake into the ROS node, record, summarise
    body_demo.py  two bodies posed shaking hands, their contact measured, a picture (``interaction-recon body-demo``)
"""
