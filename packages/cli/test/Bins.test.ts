/**
 * The commands npm links at install time. CI runs `npm ci` and then `npm test`, so these tests see
 * what a fresh clone gets from `npm ci`: `node_modules/.bin` must hold both commands (npm links a bin
 * only if its file exists when it links, before anything is built), linked to the committed entry
 * files, and each must answer `--help`. `npx` then runs the local command instead of asking the
 * public registry for a package of that name.
 */
import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")

const bins = [
  { name: "msgraph-batch", pkg: "cli", usage: /USAGE[\s\S]*msgraph-batch[\s\S]*serve/ },
  { name: "msgraph-emulator", pkg: "emulator", usage: /^usage: msgraph-emulator \[--port N\][\s\S]*--licenses N/ }
] as const

const packageBin = (pkg: string, name: string): string => {
  const manifest = JSON.parse(fs.readFileSync(path.join(repo, "packages", pkg, "package.json"), "utf8"))
  return path.join(repo, "packages", pkg, manifest.bin[name])
}

describe("bins linked by npm install", () => {
  for (const bin of bins) {
    it(`node_modules/.bin/${bin.name} is linked to the committed entry file of packages/${bin.pkg}`, () => {
      const link = path.join(repo, "node_modules", ".bin", bin.name)
      expect(fs.existsSync(link), `${link} is missing: npm did not link it`).toBe(true)
      const entry = packageBin(bin.pkg, bin.name)
      expect(fs.realpathSync(link)).toBe(fs.realpathSync(entry))
      // the entry file is in the repository, not in build/, so npm can link it before any build
      expect(path.relative(path.join(repo, "packages", bin.pkg), entry).split(path.sep)[0]).not.toBe("build")
    })

    it(`${bin.name} --help exits 0 and prints its usage`, () => {
      const result = spawnSync(path.join(repo, "node_modules", ".bin", bin.name), ["--help"], { cwd: repo, encoding: "utf8" })
      expect(result.error).toBeUndefined()
      expect(result.status, result.stderr).toBe(0)
      expect(result.stdout).toMatch(bin.usage)
    })

    it(`npx ${bin.name} runs the local command, offline and without installing`, () => {
      const npm = process.platform === "win32" ? "npm.cmd" : "npm"
      const result = spawnSync(npm, ["exec", "--offline", "--no", "--", bin.name, "--help"], { cwd: repo, encoding: "utf8" })
      expect(result.status, result.stderr).toBe(0)
      expect(result.stdout).toMatch(bin.usage)
    })

    it(`${bin.name}'s entry file says how to build when build/ is missing`, () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "msgraph-bin-"))
      try {
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module" }))
        fs.mkdirSync(path.join(dir, "bin"))
        const copy = path.join(dir, "bin", path.basename(packageBin(bin.pkg, bin.name)))
        fs.copyFileSync(packageBin(bin.pkg, bin.name), copy)
        const result = spawnSync(process.execPath, [copy, "--help"], { cwd: dir, encoding: "utf8" })
        expect(result.status).toBe(1)
        expect(result.stderr).toBe(`${bin.name} is not built: run \`npm run build\` at the repository root.\n`)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }
})
