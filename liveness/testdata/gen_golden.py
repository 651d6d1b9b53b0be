#!/usr/bin/python3
"""Golden data for liveness/liveness_test.go, from OpenCV as an independent reference.

Run from the repository root (Debian bookworm: apt-get install -y python3-opencv python3-numpy):

    /usr/bin/python3 liveness/testdata/gen_golden.py > liveness/testdata/golden.json

Sections of the output:
  crops:  synthetic RGB images made from integer formulas (synth() here and synthImage in
          crop_test.go must agree), face boxes placed centrally, at every edge and corner, tiny
          (the crop is enlarged), huge (the scale is clamped) and exactly 160x160 (cv::resize
          then switches to INTER_AREA). For each: the crop rectangle from upstream's
          CropImage._get_new_box and cv2.resize(crop, (80, 80)) (INTER_LINEAR), 3x80x80 bytes
          (planar R, G, B: it compresses better), zlib + base64.
  photos: the two MiniFASNet models run by cv2.dnn on real photos from ../shared (read in place
          by the test, not stored), each with a fixed face box (YuNet 2022mar through
          cv2.FaceDetectorYN, as shared/peers/opencv_peer.py finds it), cropped and resized as
          above, BGR raw 0-255: the crop rectangles and each model's softmax.
The output is deterministic.
"""
import base64
import json
import os
import sys
import zlib

import cv2
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("VIGIL_SHARED", os.path.join(ROOT, "..", "shared"))
MODELS = [("minifasnet-v2-2.7", os.path.join(SHARED, "models", "2.7_80x80_MiniFASNetV2.onnx"), 2.7),
          ("minifasnet-v1se-4.0", os.path.join(SHARED, "models", "4_0_0_80x80_MiniFASNetV1SE.onnx"), 4.0)]
YUNET = os.path.join(SHARED, "models", "face_detection_yunet_2022mar.onnx")
PHOTOS = ["models/testdata/image_T1.jpg", "models/testdata/image_F1.jpg", "models/testdata/image_F2.jpg",
          "faces/_spoof/live/image_T1_v2020-06-28.jpg", "faces/_spoof/live/image_T2_v2020-06-28.jpg",
          "faces/_spoof/print/image_F1_v2020-06-28.jpg", "faces/_spoof/replay/image_F2_v2020-06-28.jpg"]


def synth(w, h):
    """RGB uint8 HxWx3: two wrapping ramps and blocks, so any shift of a sample shows."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    r = (7 * x + 3 * y) % 256
    g = ((x // 5) * 11 + (y // 7) * 29) % 256
    b = (3 * x + 11 * y) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def crop_box(shape, box, scale):
    """upstream src/generate_patches.py CropImage._get_new_box, verbatim arithmetic."""
    src_h, src_w = shape[:2]
    x, y, box_w, box_h = box
    scale = min((src_h - 1) / box_h, min((src_w - 1) / box_w, scale))
    new_width, new_height = box_w * scale, box_h * scale
    center_x, center_y = box_w / 2 + x, box_h / 2 + y
    left_top_x, left_top_y = center_x - new_width / 2, center_y - new_height / 2
    right_bottom_x, right_bottom_y = center_x + new_width / 2, center_y + new_height / 2
    if left_top_x < 0:
        right_bottom_x -= left_top_x
        left_top_x = 0
    if left_top_y < 0:
        right_bottom_y -= left_top_y
        left_top_y = 0
    if right_bottom_x > src_w - 1:
        left_top_x -= right_bottom_x - src_w + 1
        right_bottom_x = src_w - 1
    if right_bottom_y > src_h - 1:
        left_top_y -= right_bottom_y - src_h + 1
        right_bottom_y = src_h - 1
    return int(left_top_x), int(left_top_y), int(right_bottom_x), int(right_bottom_y)


def f32(v):
    return float(np.float32(v))


def crops():
    out = []
    cases = {
        (480, 640): [
            ([150, 200, 120, 160], 2.7), ([150, 200, 120, 160], 4.0),
            ([123.4, 211.7, 97.3, 131.9], 2.7), ([123.4, 211.7, 97.3, 131.9], 4.0),
            ([2, 300, 100, 120], 2.7),          # left edge
            ([430, 250, 100, 120], 2.7),        # right edge
            ([200, 1, 90, 110], 4.0),           # top edge
            ([200, 610, 90, 110], 4.0),         # bottom edge
            ([-20, -20, 80, 90], 2.7),          # top-left corner, partly outside
            ([440, 600, 80, 90], 4.0),          # bottom-right corner, partly outside
            ([10, 10, 460, 620], 4.0),          # scale clamped to (W-1)/w
            ([300.5, 20.25, 170, 90], 4.0),     # clamped by width, wide box
            ([240.3, 320.6, 12.2, 14.7], 2.7),  # tiny: the crop is enlarged to 80x80
            ([100, 100, 159, 159], 1.0),        # exactly 160x160: cv::resize uses INTER_AREA
            ([0, 0, 1, 1], 2.7),                # one-pixel box at the origin
        ],
        (1617, 2160): [
            ([625.1, 626.7, 405.4, 523.8], 2.7), ([625.1, 626.7, 405.4, 523.8], 4.0),  # ~20x shrink
        ],
    }
    for (w, h), boxes in cases.items():
        img = synth(w, h)
        for box, s in boxes:
            box = [f32(v) for v in box]  # the Go side holds float32 boxes
            x1, y1, x2, y2 = crop_box(img.shape, box, s)
            c = cv2.resize(img[y1:y2 + 1, x1:x2 + 1], (80, 80))
            out.append({"w": w, "h": h, "box": box, "scale": s, "rect": [x1, y1, x2, y2],
                        "planar_zlib_b64": base64.b64encode(zlib.compress(c.transpose(2, 0, 1).tobytes(), 9)).decode()})
    return out


def photos():
    det = cv2.FaceDetectorYN.create(YUNET, "", (320, 320), 0.6, 0.3, 5000)
    nets = [(name, cv2.dnn.readNetFromONNX(p), s) for name, p, s in MODELS]
    out = []
    for rel in PHOTOS:
        img = cv2.imread(os.path.join(SHARED, rel))  # honours EXIF orientation, as embed.Decode does
        h, w = img.shape[:2]
        sc = min(1.0, 640 / max(h, w))
        nw, nh = max(1, round(w * sc)), max(1, round(h * sc))
        small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA) if sc < 1 else img
        det.setInputSize((nw, nh))
        _, faces = det.detect(small)
        f = faces[int(np.argmax(faces[:, 2] * faces[:, 3]))]
        box = [f32(f[0] * w / nw), f32(f[1] * h / nh), f32(f[2] * w / nw), f32(f[3] * h / nh)]
        rects, probs = [], []
        for name, net, s in nets:
            x1, y1, x2, y2 = crop_box(img.shape, box, s)
            c = cv2.resize(img[y1:y2 + 1, x1:x2 + 1], (80, 80))
            net.setInput(cv2.dnn.blobFromImage(c))
            l = net.forward().reshape(-1).astype(np.float64)
            p = np.exp(l - l.max())
            rects.append([x1, y1, x2, y2])
            probs.append([round(float(v), 6) for v in p / p.sum()])
        out.append({"photo": rel, "w": w, "h": h, "box": box, "rects": rects, "probs": probs})
    return out


def main():
    doc = {"generator": "/usr/bin/python3 liveness/testdata/gen_golden.py > liveness/testdata/golden.json",
           "opencv": cv2.__version__, "models": [m[0] for m in MODELS],
           "crops": crops(), "photos": photos()}
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
