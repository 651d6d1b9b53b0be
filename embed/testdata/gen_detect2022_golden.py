#!/usr/bin/python3
"""Golden data for embed/detect2022_test.go: YuNet 2022mar run by OpenCV 4.6's own FaceDetectorYN.

Run from the repository root (Debian bookworm: apt-get install -y python3-opencv python3-numpy):

    /usr/bin/python3 embed/testdata/gen_detect2022_golden.py > embed/testdata/detect2022_golden.json

The model is the shipped ../shared/models/face_detection_yunet_2022mar.onnx (sha256 checked; VIGIL_SHARED
overrides ../shared). OpenCV 4.6 is the reference: its FaceDetectorYN decodes 2022mar's priors itself
(models/MANIFEST.md section 1) and reduces them with cv2.dnn.NMSBoxes on integer boxes.

Sections of the output (rows are [x, y, w, h, 5 landmarks (x, y), score], OpenCV's coordinates, i.e.
before Detect's half-pixel shift):
  raw:    each photo at its own size, as the network input (setInputSize = photo size, no resizing,
          no padding): what Detector.run2022 sees when Detect does not downscale. LFW 250x250 JPEGs
          from pairs.csv (several hold more than one face), the derived PNGs of two of them, a
          multi-face crowd, and large photos from _special fed whole (up to 1920x1080).
  scaled: the OpenCV reference pipeline's detect (shared/peers/opencv_peer.py): photos over 640 px
          shrunk with cv2.INTER_AREA to a longest side of 640, detected there, coordinates scaled back
          to the photo's. Go's Detect does the same with its own resizer, so these agree less closely.
PNGs give Go and OpenCV identical pixels; JPEGs decode a level apart here and there (libjpeg vs Go's
image/jpeg). Only the numbers are stored; the test reads the photos in place. Deterministic.
"""
import hashlib
import json
import os
import sys

import cv2
import numpy as np

SHARED = os.environ.get("VIGIL_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
FACES = os.path.join(SHARED, "faces")
MODEL = os.path.join(SHARED, "models", "face_detection_yunet_2022mar.onnx")
MODEL_SHA256 = "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7"

SCORE, NMS, TOP_K = 0.5, 0.3, 5000  # below the product's threshold, to compare more boxes
MAX_SIDE = 640
RAW = [
    "Abdel_Madi_Shabneh/Abdel_Madi_Shabneh_0001.jpg",
    "Adam_Sandler/Adam_Sandler_0001.jpg",
    "Christy_Ferer/Christy_Ferer_0001.jpg",
    "Greg_Ostertag/Greg_Ostertag_0002.jpg",
    "John_Stockton/John_Stockton_0001.jpg",
    "Matthew_Broderick/Matthew_Broderick_0004.jpg",
    "Rick_Reed/Rick_Reed_0001.jpg",
    "Yashwant_Sinha/Yashwant_Sinha_0006.jpg",
    "_special/derived/Colin_Powell_0153__png.png",
    "_special/derived/Arnold_Schwarzenegger_0011__png.png",
    "_special/multi_face/Alejandro_Toledo_0028.jpg",
    "_special/multi_face/Abdel_Nasser_Assidi_0002.jpg",
    "_special/public_domain_faces/astronaut.png",
    "_special/format/32bit_rgba.png",
    "_special/multi_face/kit_with_rose.jpg",
    "_special/resolution/obama-1080p.jpg",
]
SCALED = [
    "_special/format/32bit_rgba.png",
    "_special/multi_face/multiface.jpg",
    "_special/multi_face/two_people.jpg",
    "_special/resolution/obama-1080p.jpg",
    "_special/hires_obama_biden/obama3.jpg",
]


def detect(img):
    h, w = img.shape[:2]
    det = cv2.FaceDetectorYN.create(MODEL, "", (w, h), SCORE, NMS, TOP_K)
    _, faces = det.detect(img)
    return np.zeros((0, 15), np.float32) if faces is None else faces


def rows(faces):
    return [[round(float(v), 4) for v in f] for f in faces]


def main():
    with open(MODEL, "rb") as fh:
        got = hashlib.sha256(fh.read()).hexdigest()
    if got != MODEL_SHA256:
        sys.exit(f"{MODEL}: sha256 {got}, want {MODEL_SHA256}")
    cv2.setNumThreads(1)
    raw, scaled = [], []
    for rel in RAW:
        img = cv2.imread(os.path.join(FACES, rel), cv2.IMREAD_COLOR)
        raw.append({"photo": rel, "input": [img.shape[1], img.shape[0]], "faces": rows(detect(img))})
    for rel in SCALED:
        img = cv2.imread(os.path.join(FACES, rel), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        s = MAX_SIDE / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        faces = detect(cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)).copy()
        faces[:, 0:14:2] *= w / nw
        faces[:, 1:14:2] *= h / nh
        scaled.append({"photo": rel, "input": [nw, nh], "faces": rows(faces)})
    doc = {
        "generator": "/usr/bin/python3 embed/testdata/gen_detect2022_golden.py > embed/testdata/detect2022_golden.json",
        "opencv": cv2.__version__,
        "model_sha256": MODEL_SHA256,
        "score_threshold": SCORE, "nms_threshold": NMS, "top_k": TOP_K, "max_side": MAX_SIDE,
    }
    one = lambda v: json.dumps(v, separators=(",", ":"))
    out = [f' "{k}": {one(v)}' for k, v in doc.items()]
    for name, sec in (("raw", raw), ("scaled", scaled)):
        out.append(f' "{name}": [\n' + ",\n".join("  " + one(p) for p in sec) + "\n ]")
    sys.stdout.write("{\n" + ",\n".join(out) + "\n}\n")
    print(f"{sum(len(p['faces']) for p in raw)} faces raw, {sum(len(p['faces']) for p in scaled)} scaled",
          file=sys.stderr)


if __name__ == "__main__":
    main()
