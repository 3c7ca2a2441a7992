#!/usr/bin/env node
// Starts kinesalite (a real Kinesis implementation) bound to one address.
// kinesalite's own CLI listens on every interface; this wrapper keeps the
// local pipeline on loopback unless the caller asks for another host.
'use strict'

const path = require('path')
const argv = require('minimist')(process.argv.slice(2), {
  string: ['host', 'path'],
  default: { host: '127.0.0.1', port: 4567 },
})

if (argv.help) {
  console.log('Usage: kinesis-local.js [--host 127.0.0.1] [--port 4567] [--path DIR]')
  console.log('Runs kinesalite on HOST:PORT; with --path its data is kept on disk in DIR.')
  process.exit(0)
}

const kinesalite = require('kinesalite')
// A high shard limit: test suites create many streams on one shared server.
const options = { createStreamMs: 50, deleteStreamMs: 50, updateStreamMs: 50, shardLimit: 1000 }
if (argv.path) options.path = path.resolve(argv.path)

const server = kinesalite(options).listen(Number(argv.port), argv.host, () => {
  const address = server.address()
  console.log(`kinesalite listening on http://${address.address}:${address.port}`)
})
server.on('error', (err) => {
  console.error(`kinesalite could not listen on ${argv.host}:${argv.port}: ${err.message}`)
  process.exit(1)
})
// kinesalite rethrows a request's 'error' event, so a client that disconnects in the middle of a
// request (a producer or forwarder killed mid-call) would take the whole server down. Keep serving.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error(`kinesalite: a client disconnected in the middle of a request (${err.message}); still serving`)
    return
  }
  console.error(err)
  process.exit(1)
})
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)))
}
