const fs = require("fs")

function readConfig(path, defaults) {
  let text = ""
  try {
    text = fs.readFileSync(path, "utf8")
  } catch (err) {
    if (err.code !== "ENOENT") throw err
    return { ...defaults }
  }
  const parsed = JSON.parse(text)
  for (const key of Object.keys(defaults)) {
    if (!(key in parsed)) parsed[key] = defaults[key]
  }
  return parsed
}

module.exports = { readConfig }
