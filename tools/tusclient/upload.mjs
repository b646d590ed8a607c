// Uploads a file to restkit's tus endpoint with tus-js-client, an independent tus
// client, for e2e's TestTusJSClient:
//
//   node upload.mjs ENDPOINT FILE DIR/ID [--abort-at FRACTION] [--resume URL]
//
// With --abort-at it aborts the upload once that fraction of the file is sent and
// prints "aborted URL"; with --resume it continues the upload at URL. On success it
// prints "done URL". RESTKIT_AUTH, when set, is sent as the Authorization header.
import fs from 'node:fs'
import * as tus from 'tus-js-client'

const [endpoint, file, path, ...rest] = process.argv.slice(2)
let abortAt = 0
let resume = null
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === '--abort-at') abortAt = Number(rest[i + 1])
  if (rest[i] === '--resume') resume = rest[i + 1]
}
const data = fs.readFileSync(file)
const headers = process.env.RESTKIT_AUTH ? { Authorization: process.env.RESTKIT_AUTH } : {}
const upload = new tus.Upload(data, {
  endpoint,
  uploadUrl: resume,
  headers,
  chunkSize: 256 * 1024,
  retryDelays: [0, 100, 500],
  metadata: { path, filename: path.split('/').pop(), filetype: 'application/octet-stream' },
  onProgress (sent) {
    if (abortAt > 0 && sent >= data.length * abortAt) {
      abortAt = 0
      upload.abort(false).then(() => {
        console.log(`aborted ${upload.url}`)
        process.exit(0)
      })
    }
  },
  onError (err) {
    console.error(`error ${err}`)
    process.exit(1)
  },
  onSuccess () {
    console.log(`done ${upload.url}`)
  }
})
upload.start()
