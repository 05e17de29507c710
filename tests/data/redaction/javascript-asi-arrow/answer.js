const fs = require("fs")
const path = require("path")

const configPath = path.join(process.cwd(), "app.json")
const started = Date.now()

const loadSettings = (file, fallback) => {
  let raw = ""
  try {
    raw = fs.readFileSync(file, "utf8")
  } catch (error) {
    if (error.code !== "ENOENT") throw error
    return { ...fallback }
  }
  const settings = JSON.parse(raw)
  for (const name of Object.keys(fallback)) {
    if (!(name in settings)) settings[name] = fallback[name]
  }
  return settings
}

(async () => {
  const settings = loadSettings(configPath, { port: 8080, verbose: false })
  console.log(`loaded in ${Date.now() - started} ms`, settings)
})()
