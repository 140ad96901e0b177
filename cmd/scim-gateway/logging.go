package main

import (
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scim-gateway/scim-gateway/config"
)

// newLoggers builds the process logger (sampled, as zap's production preset) and the translation
// logger (its own core, never sampled: every write must leave its record), both writing to w.
func newLoggers(cfg config.Logging, w io.Writer) (process, translation *zap.Logger, level zap.AtomicLevel, err error) {
	level = zap.NewAtomicLevel()
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		return nil, nil, level, fmt.Errorf("logging.level: %w", err)
	}
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = "ts"
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	var encoder zapcore.Encoder
	switch cfg.Format {
	case "console":
		encoder = zapcore.NewConsoleEncoder(enc)
	default:
		encoder = zapcore.NewJSONEncoder(enc)
	}
	sink := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewCore(encoder, sink, level)
	process = zap.New(zapcore.NewSamplerWithOptions(core, 1e9, 100, 100), zap.ErrorOutput(sink))
	translation = zap.New(zapcore.NewCore(encoder, sink, zapcore.InfoLevel), zap.ErrorOutput(sink)).
		With(zap.String("log", "translation"))
	return process, translation, level, nil
}
