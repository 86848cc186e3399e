// Runs magenta.js's own MusicVAE (npm @magenta/music, CPU backend) on a checkpoint served
// over HTTP, for the parity tests: node magentajs_run.js JOB.json
//
// JOB: {"modules": node_modules folder, "out": result file, "runs": [RUN, ...]}
// RUN: {"url": checkpoint URL,
//       "tokens": [[...]] (optional: NoteSequences of them encoded by magenta.js's converter),
//       "inputs": [[[...]]] (optional: encoder input tensors encoded as they are),
//       "z": [[...]] (optional: decode at temperature 0)}
// Result, one per run: {"inputs": what the converter read back from the tokens'
//          NoteSequences, "mu": [[...]] of those, "mu_of_inputs": [[...]], "tokens": [[...]],
//          "decoded": [batch][step][output] (what decodeTensors returned), "logits":
//          [step][batch][class] (of the first core decoder), "part_logits": [core decoder]
//          [step][batch][class] (a trio's three)}
// The step logits are captured by wrapping each core decoder's sampling function, which
// receives them (the output projection of the top LSTM layer) at every step; a split
// decoder runs its core decoders one after another, so each keeps its own list. One Node
// process serves every run: starting it and loading tfjs is most of the time.
'use strict';
const fs = require('fs');
const path = require('path');

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const musicVae = path.join(job.modules, '@magenta/music/node/music_vae');
const mm = require(musicVae);
const tf = require(require.resolve('@tensorflow/tfjs', {paths: [path.dirname(musicVae)]}));

async function runOne(run) {
  const model = new mm.MusicVAE(run.url);
  await model.initialize();
  const split = model.decoder.splitDecoder || model.decoder;
  const coreDecoders = split.coreDecoders || [model.decoder];
  let logits = coreDecoders.map(() => []);
  coreDecoders.forEach((decoder, part) => {
    const sample = decoder.sample.bind(decoder);
    decoder.sample = (lstmOutput, temperature) => {
      logits[part].push(lstmOutput.arraySync());
      return sample(lstmOutput, temperature);
    };
  });
  const result = {};
  if (run.tokens) {
    const sequences = [];
    for (const row of run.tokens) {
      const oneHot = tf.oneHot(tf.tensor1d(row, 'int32'), model.decoder.outputDims);
      sequences.push(await model.dataConverter.toNoteSequence(oneHot, 4, 120));
      oneHot.dispose();
    }
    result.inputs = sequences.map((sequence) => {
      const tensor = model.dataConverter.toTensor(sequence);
      const values = tensor.arraySync();
      tensor.dispose();
      return values;
    });
    const z = await model.encode(sequences);
    result.mu = z.arraySync();
    z.dispose();
  }
  if (run.inputs) {
    const inputs = tf.tensor3d(run.inputs);
    const z = await model.encodeTensors(inputs);
    result.mu_of_inputs = z.arraySync();
    z.dispose();
    inputs.dispose();
  }
  if (run.z) {
    logits = coreDecoders.map(() => []);
    const z = tf.tensor2d(run.z);
    const decoded = await model.decodeTensors(z, 0);
    result.tokens = decoded.argMax(2).arraySync();
    result.decoded = decoded.arraySync();
    result.logits = logits[0];
    result.part_logits = logits;
    decoded.dispose();
    z.dispose();
  }
  model.dispose();
  return result;
}

async function main() {
  const results = [];
  for (const run of job.runs) {
    results.push(await runOne(run));
  }
  fs.writeFileSync(job.out, JSON.stringify(results));
}

main().catch((err) => {
  console.error(`magenta.js failed: ${err && err.message ? err.message : err}`);
  process.exit(1);
});
