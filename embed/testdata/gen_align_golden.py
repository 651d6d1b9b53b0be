#!/usr/bin/python3
"""Golden data for embed/align_test.go and embed/detect_test.go, from OpenCV as an independent reference.

Run from the repository root (Debian bookworm: apt-get install -y python3-opencv python3-numpy):

    /usr/bin/python3 embed/testdata/gen_align_golden.py > embed/testdata/align_golden.json

Sections of the output:
  similarity: synthetic landmark sets (numbers only) and cv2.estimateAffinePartial2D(method=LMEDS)
              onto the 112x112 ArcFace template.
  warps:      cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0) of a synthetic 300x260 RGB image made
              from integer formulas (synth() here and synthImage in align_test.go must agree) with
              some of those matrices; 112x112x3 bytes each, zlib + base64.
  detect:     YuNet 2023mar run raw by cv2.dnn on a few photos from ../shared/faces, each pasted
              top-left into a zero 640x640 input, decoded here per models/MANIFEST.md section 2 and
              reduced with cv2.dnn.NMSBoxes on integer boxes, as OpenCV >= 4.8 FaceDetectorYN does.
              Rows are [x, y, w, h, 5 landmarks (x, y), score] in YuNet's raw coordinates (before
              Detect's half-pixel shift). PNGs give Go and OpenCV identical pixels; JPEGs differ
              by a level here and there between libjpeg and Go's decoder. Only the numbers are
              stored; the test reads the photos in place.
The output is deterministic (fixed seed; OpenCV's LMEDS uses its own fixed RNG state).
"""
import base64
import json
import os
import sys
import zlib

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FACES = os.environ.get("VIGIL_SHARED", os.path.join(ROOT, "..", "shared"))
FACES = os.path.join(FACES, "faces")
MODEL = os.path.join(ROOT, "models", "face_detection_yunet_2023mar.onnx")

TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                     [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)
W, H = 300, 260
SCORE = 0.5  # detect section threshold (lower than the product's, to compare more boxes)
PHOTOS = [
    "_special/derived/Colin_Powell_0153__png.png",
    "_special/derived/Arnold_Schwarzenegger_0011__png.png",
    "_special/public_domain_faces/astronaut.png",
    "_special/format/32bit_rgba.png",
    "_special/multi_face/Alejandro_Toledo_0028.jpg",
    "_special/multi_face/Abdel_Nasser_Assidi_0002.jpg",
    "_special/resolution/obama-240p.jpg",
    "_special/resolution/obama_small.jpg",
]


def synth():
    """RGB uint8 HxWx3: a ramp with wrap-around edges, rings, and a checkerboard with a stripe."""
    y, x = np.mgrid[0:H, 0:W].astype(np.int64)
    r = (2 * x + y) % 256
    g = (((x - 150) ** 2 + (y - 130) ** 2) // 90) % 256
    b = np.where((x // 23 + y // 17) % 2 == 0, 220, 40)
    b = np.where(np.abs(x - 2 * y + 100) < 4, 255 - b, b)
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def landmark_sets(rng):
    """Template points moved by varied similarities (into source-image pixels) plus noise."""
    c = TEMPLATE.mean(axis=0)
    sets = []
    cases = [  # (degrees, source face size relative to the crop, centre x, centre y, noise sigma)
        (0, 1.0, 150, 130, 0.0), (10, 1.5, 150, 120, 0.5), (-25, 0.6, 100, 80, 1.0),
        (45, 2.0, 160, 140, 1.5), (-60, 0.8, 220, 190, 0.5), (90, 1.2, 150, 130, 0.0),
        (180, 1.0, 140, 120, 1.0), (-90, 0.4, 40, 30, 0.3), (5, 2.5, 150, 130, 2.0),
        (30, 1.0, 10, 250, 1.0),  # partly outside: border pixels come from the constant 0
    ]
    for _ in range(10):
        cases.append((rng.uniform(-70, 70), rng.uniform(0.3, 2.5), rng.uniform(20, 280),
                      rng.uniform(20, 240), rng.choice([0.0, 0.5, 1.0, 2.0])))
    for deg, k, cx, cy, sigma in cases:
        t = np.deg2rad(deg)
        rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
        pts = (TEMPLATE - c) @ rot.T * k + [cx, cy] + rng.normal(0, sigma, (5, 2)) * k
        sets.append(pts.astype(np.float32))  # float32: what the Go API takes
    return sets


def umeyama(src, dst):
    """Closed-form least-squares similarity, only to report how far LMEDS lands from it."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    a = (s * d).sum() / (s * s).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / (s * s).sum()
    return np.array([[a, -b, md[0] - a * ms[0] + b * ms[1]], [b, a, md[1] - b * ms[0] - a * ms[1]]])


def yunet(net, img):
    """Faces as [x, y, w, h, 10 landmark coords, score] on img pasted into a zero 640x640 input."""
    canvas = np.zeros((640, 640, 3), np.uint8)
    canvas[: img.shape[0], : img.shape[1]] = img[:640, :640]
    net.setInput(cv2.dnn.blobFromImage(canvas))  # BGR, raw 0-255, NCHW
    names = [f"{h}_{s}" for h in ("cls", "obj", "bbox", "kps") for s in (8, 16, 32)]
    out = dict(zip(names, net.forward(names)))
    faces = []
    for s in (8, 16, 32):
        cols = 640 // s
        cls, obj = out[f"cls_{s}"].reshape(-1), out[f"obj_{s}"].reshape(-1)
        box, kps = out[f"bbox_{s}"].reshape(-1, 4), out[f"kps_{s}"].reshape(-1, 10)
        for idx in range(cls.size):
            score = float(np.sqrt(np.clip(cls[idx], 0, 1) * np.clip(obj[idx], 0, 1)))
            if score < SCORE:
                continue
            r, c = divmod(idx, cols)
            cx, cy = (c + box[idx, 0]) * s, (r + box[idx, 1]) * s
            w, h = np.exp(box[idx, 2]) * s, np.exp(box[idx, 3]) * s
            lm = []
            for k in range(5):
                lm += [(kps[idx, 2 * k] + c) * s, (kps[idx, 2 * k + 1] + r) * s]
            faces.append([cx - w / 2, cy - h / 2, w, h] + lm + [score])
    boxes = [[int(f[0]), int(f[1]), int(f[2]), int(f[3])] for f in faces]
    keep = cv2.dnn.NMSBoxes(boxes, [f[14] for f in faces], SCORE, 0.3, top_k=5000)
    return [[round(float(v), 4) for v in faces[i]] for i in np.array(keep).reshape(-1)]


def main():
    rng = np.random.default_rng(20251121)
    img = synth()
    sims = []
    worst = 0.0
    for pts in landmark_sets(rng):
        m, inliers = cv2.estimateAffinePartial2D(pts, TEMPLATE.astype(np.float32), method=cv2.LMEDS)
        worst = max(worst, float(np.abs(m - umeyama(pts.astype(np.float64), TEMPLATE)).max()))
        sims.append({"landmarks": [[float(v) for v in p] for p in pts],
                     "m": [[float(v) for v in row] for row in m], "inliers": int(inliers.sum())})
    print(f"LMEDS vs closed-form Umeyama: max |diff| {worst:.2e}", file=sys.stderr)
    warps = []
    for i in (0, 2, 3, 6, 8, 9):
        m = np.array(sims[i]["m"])
        out = cv2.warpAffine(img, m, (112, 112), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        warps.append({"set": i, "rgb_zlib_b64": base64.b64encode(zlib.compress(out.tobytes(), 9)).decode()})
    net = cv2.dnn.readNetFromONNX(MODEL)
    det = []
    for rel in PHOTOS:
        im = cv2.imread(os.path.join(FACES, rel), cv2.IMREAD_COLOR)
        det.append({"photo": rel, "faces": yunet(net, im)})
    doc = {
        "generator": "/usr/bin/python3 embed/testdata/gen_align_golden.py > embed/testdata/align_golden.json",
        "opencv": cv2.__version__,
        "image": {"w": W, "h": H},
        "template": TEMPLATE.tolist(),
        "similarity": sims,
        "warps": warps,
        "detect": {"score_threshold": SCORE, "nms_threshold": 0.3, "input": [640, 640], "photos": det},
    }
    # One line per list item: readable diffs without a line per number.
    one = lambda v: json.dumps(v, separators=(",", ":"))
    out = []
    for k, v in doc.items():
        if k == "detect":
            items = ",\n".join("   " + one(p) for p in v["photos"])
            rest = one({kk: vv for kk, vv in v.items() if kk != "photos"})[:-1]
            out.append(f' "{k}": {rest},"photos":[\n{items}\n ]}}')
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out.append(f' "{k}": [\n' + ",\n".join("  " + one(x) for x in v) + "\n ]")
        else:
            out.append(f' "{k}": {one(v)}')
    sys.stdout.write("{\n" + ",\n".join(out) + "\n}\n")

if __name__ == "__main__":
    main()
