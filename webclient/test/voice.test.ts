import { describe, expect, it } from "vitest";
import { voiceSupport } from "../src/teacher/voice";

function fakeWindow(secure: boolean, mic: boolean, types: string[]): Window {
  const recorder = { isTypeSupported: (type: string) => types.includes(type) };
  return {
    isSecureContext: secure,
    navigator: mic ? { mediaDevices: { getUserMedia: () => Promise.resolve() } } : {},
    MediaRecorder: types.length ? recorder : undefined,
  } as unknown as Window;
}

describe("whether the console may record the teacher's voice", () => {
  it("refuses outside a secure context, whatever the browser has", () => {
    expect(voiceSupport(fakeWindow(false, true, ["audio/webm;codecs=opus"]))).toBe("insecure");
  });
  it("needs a microphone API and a recorder that makes Opus", () => {
    expect(voiceSupport(fakeWindow(true, false, ["audio/webm;codecs=opus"]))).toBe("unsupported");
    expect(voiceSupport(fakeWindow(true, true, []))).toBe("unsupported");
    expect(voiceSupport(fakeWindow(true, true, ["audio/mp4"]))).toBe("unsupported");
  });
  it("records WebM (Chromium) or Ogg (Firefox) Opus", () => {
    expect(voiceSupport(fakeWindow(true, true, ["audio/webm;codecs=opus"]))).toBe("ok");
    expect(voiceSupport(fakeWindow(true, true, ["audio/ogg;codecs=opus"]))).toBe("ok");
  });
});
