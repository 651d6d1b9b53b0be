// Package attributes is the age and gender stage beside liveness: for each detected face it cuts
// a square crop around the YuNet box from the decoded photo, runs the manifest's attributes model
// (Intel's age-gender-recognition-retail-0013: 62×62 BGR, raw 0–255) batched through a
// models/ort Batcher, and reports an age in years, an age band, a gender with its probability,
// and flags saying when not to trust the estimate.
//
// The estimate is coarse: 10.9 years mean absolute error on 719 LFW photos (bench/RESULTS.md),
// 20 years for people over 65, pulled toward the middle, and the model is valid for adults of
// 18–75 only. Its outputs bottom out at about 20, so it cannot tell a minor from a young adult: it
// is not an age-verification or minor/adult check and must never be offered as one. Estimates at
// the ends of its outputs are flagged out_of_range; one under 18 gets no band.
//
// It imports embed (Image, Planar) and models/prep (the OpenCV-exact crop resize it shares with
// liveness); it must not import engine, api or liveness.
package attributes
