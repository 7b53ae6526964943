// Sound and vibration so a sampler knows without looking: a short high beep on success, a
// low double beep on a refusal (WebAudio), and the matching vibration where the phone can.
//
//   success()   one short high beep, one short buzz
//   failure()   two low beeps, a long buzz pattern

let audio = null;

function beep(frequency, startAt, duration) {
  const ctx = audio;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "square";
  osc.frequency.value = frequency;
  gain.gain.setValueAtTime(0.0001, ctx.currentTime + startAt);
  gain.gain.exponentialRampToValueAtTime(0.25, ctx.currentTime + startAt + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + startAt + duration);
  osc.connect(gain).connect(ctx.destination);
  osc.start(ctx.currentTime + startAt);
  osc.stop(ctx.currentTime + startAt + duration + 0.02);
}

function play(notes) {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audio = audio || new Ctx();
    if (audio.state === "suspended") audio.resume();
    for (const [frequency, at, duration] of notes) beep(frequency, at, duration);
  } catch (err) {
    // No sound on this device: the screen still shows the message.
  }
}

function buzz(pattern) {
  if (navigator.vibrate) navigator.vibrate(pattern);
}

export function success() {
  play([[1760, 0, 0.09]]);
  buzz(60);
}

export function failure() {
  play([[330, 0, 0.18], [262, 0.24, 0.3]]);
  buzz([180, 90, 180]);
}
