// Package onnxedit rewrites ONNX model files at the protobuf level so Vigil can batch them: the
// shipped models declare a fixed batch of 1 (and YuNet a fixed input size), which ONNX Runtime
// enforces. The edits touch only shape declarations and Reshape targets; weights and every other
// byte are carried over unchanged, so the output is deterministic and its sha256 can be pinned in
// the manifest. Pure Go; it knows the handful of ONNX field numbers it needs and nothing else.
package onnxedit

import (
	"encoding/binary"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// ONNX protobuf field numbers (onnx.proto).
const (
	modelGraph = 7

	graphNode        = 1
	graphInitializer = 5
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13

	nodeInput     = 1
	nodeOutput    = 2
	nodeOpType    = 4
	nodeAttribute = 5

	attrName = 1
	attrT    = 5

	tensorDims     = 1
	tensorDataType = 2
	tensorInt64    = 7
	tensorName     = 8
	tensorRaw      = 9

	valueInfoName = 1
	valueInfoType = 2
	typeTensor    = 1
	tensorShape   = 2
	shapeDim      = 1
	dimValue      = 1
	dimParam      = 2

	dataTypeInt64 = 7
)

// Options says which dimensions become symbolic.
type Options struct {
	// Spatial also frees an image input's height and width (dims 2 and 3) and every output dim
	// but the last, for detectors whose output length follows the input size.
	Spatial bool
}

// ErrFormat marks input that is not an ONNX model this package can edit.
var ErrFormat = errors.New("onnxedit: unsupported model")

// Report says what an edit changed.
type Report struct {
	Inputs, Outputs  int // graph inputs/outputs whose dims were made symbolic
	Reshapes         int // Reshape target tensors (possibly shared by several nodes) whose hard-coded batch 1 became 0 (copy the input's)
	ValueInfoDropped int // intermediate shape hints removed (ORT re-infers them)
}

// DynamicBatch returns model with a symbolic batch dimension (and, with opts.Spatial, symbolic
// spatial dims) on every graph input and output, Reshape targets of the form [1, ...] rewritten
// to [0, ...], and intermediate value_info dropped.
func DynamicBatch(model []byte, opts Options) ([]byte, Report, error) {
	var rep Report
	fields, err := parse(model)
	if err != nil {
		return nil, rep, err
	}
	found := false
	for i := range fields {
		if fields[i].num != modelGraph {
			continue
		}
		found = true
		g, err := editGraph(fields[i].val, opts, &rep)
		if err != nil {
			return nil, rep, err
		}
		fields[i].val = g
	}
	if !found {
		return nil, rep, fmt.Errorf("%w: no graph", ErrFormat)
	}
	if rep.Inputs == 0 {
		return nil, rep, fmt.Errorf("%w: no graph inputs with a shape", ErrFormat)
	}
	return encode(fields), rep, nil
}

func editGraph(b []byte, opts Options, rep *Report) ([]byte, error) {
	fields, err := parse(b)
	if err != nil {
		return nil, err
	}
	// Names of the tensors that Reshape nodes take as their target shape.
	targets := map[string]bool{}
	for _, f := range fields {
		if f.num != graphNode {
			continue
		}
		node, err := parse(f.val)
		if err != nil {
			return nil, err
		}
		var inputs []string
		op := ""
		for _, nf := range node {
			switch nf.num {
			case nodeOpType:
				op = string(nf.val)
			case nodeInput:
				inputs = append(inputs, string(nf.val))
			}
		}
		if op == "Reshape" && len(inputs) == 2 {
			targets[inputs[1]] = true
		}
	}
	initNames := map[string]bool{}
	out := fields[:0]
	for _, f := range fields {
		switch f.num {
		case graphValueInfo:
			rep.ValueInfoDropped++
			continue
		case graphInput, graphOutput:
			isInput := f.num == graphInput
			v, changed, err := editValueInfo(f.val, isInput, opts, initNames)
			if err != nil {
				return nil, err
			}
			if changed && isInput {
				rep.Inputs++
			} else if changed {
				rep.Outputs++
			}
			f.val = v
		case graphInitializer:
			name, v, changed, err := editShapeTensor(f.val, targets)
			if err != nil {
				return nil, err
			}
			initNames[name] = true
			if changed {
				rep.Reshapes++
			}
			f.val = v
		case graphNode:
			v, changed, err := editConstantNode(f.val, targets)
			if err != nil {
				return nil, err
			}
			if changed {
				rep.Reshapes++
			}
			f.val = v
		}
		out = append(out, f)
	}
	return encode(out), nil
}

// editValueInfo frees the batch (and maybe spatial) dims of a graph input or output. Inputs that
// are initializers (older exporters list weights as inputs) are left alone.
func editValueInfo(b []byte, isInput bool, opts Options, initNames map[string]bool) ([]byte, bool, error) {
	fields, err := parse(b)
	if err != nil {
		return nil, false, err
	}
	for _, f := range fields {
		if f.num == valueInfoName && initNames[string(f.val)] {
			return b, false, nil
		}
	}
	changed := false
	for i := range fields {
		if fields[i].num != valueInfoType {
			continue
		}
		v, err := nested(fields[i].val, []protowire.Number{typeTensor, tensorShape}, func(shape []byte) ([]byte, error) {
			dims, err := parse(shape)
			if err != nil {
				return nil, err
			}
			rank := 0
			for _, d := range dims {
				if d.num == shapeDim {
					rank++
				}
			}
			k := 0
			for j := range dims {
				if dims[j].num != shapeDim {
					continue
				}
				name := ""
				switch {
				case k == 0:
					name = "batch"
				case opts.Spatial && isInput && k == 2:
					name = "height"
				case opts.Spatial && isInput && k == 3:
					name = "width"
				case opts.Spatial && !isInput && k < rank-1:
					name = fmt.Sprintf("d%d", k)
				}
				if name != "" {
					dims[j].val = encode([]field{{num: dimParam, typ: protowire.BytesType, val: []byte(name)}})
					changed = true
				}
				k++
			}
			return encode(dims), nil
		})
		if err != nil {
			return nil, false, err
		}
		fields[i].val = v
	}
	return encode(fields), changed, nil
}

// editShapeTensor rewrites an int64 shape tensor named in targets from [1, ...] to [0, ...].
func editShapeTensor(b []byte, targets map[string]bool) (name string, out []byte, changed bool, err error) {
	fields, err := parse(b)
	if err != nil {
		return "", nil, false, err
	}
	isInt64 := false
	for _, f := range fields {
		switch f.num {
		case tensorName:
			name = string(f.val)
		case tensorDataType:
			isInt64 = f.v == dataTypeInt64
		}
	}
	if !targets[name] || !isInt64 {
		return name, b, false, nil
	}
	for i := range fields {
		switch {
		case fields[i].num == tensorRaw && len(fields[i].val) >= 8:
			if binary.LittleEndian.Uint64(fields[i].val) == 1 {
				raw := append([]byte(nil), fields[i].val...)
				binary.LittleEndian.PutUint64(raw, 0)
				fields[i].val, changed = raw, true
			}
		case fields[i].num == tensorInt64 && fields[i].typ == protowire.BytesType: // packed
			first, n := protowire.ConsumeVarint(fields[i].val)
			if n > 0 && first == 1 {
				fields[i].val = append(protowire.AppendVarint(nil, 0), fields[i].val[n:]...)
				changed = true
			}
		case fields[i].num == tensorInt64 && fields[i].typ == protowire.VarintType:
			if fields[i].v == 1 && !changed {
				fields[i].v, changed = 0, true
			}
		}
		if changed {
			break
		}
	}
	return name, encode(fields), changed, nil
}

// editConstantNode rewrites the value of a Constant node whose output is a Reshape target.
func editConstantNode(b []byte, targets map[string]bool) ([]byte, bool, error) {
	fields, err := parse(b)
	if err != nil {
		return nil, false, err
	}
	op, outName := "", ""
	for _, f := range fields {
		switch f.num {
		case nodeOpType:
			op = string(f.val)
		case nodeOutput:
			outName = string(f.val)
		}
	}
	if op != "Constant" || !targets[outName] {
		return b, false, nil
	}
	changed := false
	for i := range fields {
		if fields[i].num != nodeAttribute {
			continue
		}
		attr, err := parse(fields[i].val)
		if err != nil {
			return nil, false, err
		}
		for j := range attr {
			if attr[j].num != attrT {
				continue
			}
			// The Constant's tensor may carry no name; give the check the output's name.
			t, err := parse(attr[j].val)
			if err != nil {
				return nil, false, err
			}
			t = append(t, field{num: tensorName, typ: protowire.BytesType, val: []byte(outName)})
			_, v, ch, err := editShapeTensor(encode(t), map[string]bool{outName: true})
			if err != nil {
				return nil, false, err
			}
			if ch {
				vf, _ := parse(v)
				attr[j].val = encode(vf[:len(vf)-1]) // drop the name added above
				changed = true
			}
		}
		fields[i].val = encode(attr)
	}
	return encode(fields), changed, nil
}

// nested applies fn to the message found by following path (first match at each level).
func nested(b []byte, path []protowire.Number, fn func([]byte) ([]byte, error)) ([]byte, error) {
	if len(path) == 0 {
		return fn(b)
	}
	fields, err := parse(b)
	if err != nil {
		return nil, err
	}
	for i := range fields {
		if fields[i].num == path[0] && fields[i].typ == protowire.BytesType {
			v, err := nested(fields[i].val, path[1:], fn)
			if err != nil {
				return nil, err
			}
			fields[i].val = v
			break
		}
	}
	return encode(fields), nil
}

// field is one protobuf field: val holds bytes-typed payloads, v numeric ones.
type field struct {
	num protowire.Number
	typ protowire.Type
	val []byte
	v   uint64
}

func parse(b []byte) ([]field, error) {
	var fs []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrFormat, protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.val, n = protowire.ConsumeBytes(b)
		default:
			return nil, fmt.Errorf("%w: wire type %d", ErrFormat, typ)
		}
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrFormat, protowire.ParseError(n))
		}
		b = b[n:]
		fs = append(fs, f)
	}
	return fs, nil
}

func encode(fs []field) []byte {
	var out []byte
	for _, f := range fs {
		out = protowire.AppendTag(out, f.num, f.typ)
		switch f.typ {
		case protowire.VarintType:
			out = protowire.AppendVarint(out, f.v)
		case protowire.Fixed32Type:
			out = protowire.AppendFixed32(out, uint32(f.v))
		case protowire.Fixed64Type:
			out = protowire.AppendFixed64(out, f.v)
		case protowire.BytesType:
			out = protowire.AppendBytes(out, f.val)
		}
	}
	return out
}
