-- Drives a headless Neovim (0.7 to 0.12) that loaded a README set-up as its init file and opened a Python
-- file: the steps named in $HAIKU_STEPS, as a user would do them (keys fed through the mappings), each
-- recording what Neovim shows into $HAIKU_OUT (JSON). The test (test_neovim.py) asserts on the record.
local out = { steps = {}, errors = {} }
local steps = vim.split(os.getenv("HAIKU_STEPS") or "", ",")
local cursor = vim.fn.json_decode(os.getenv("HAIKU_CURSORS") or "{}")
local TIMEOUT = tonumber(os.getenv("HAIKU_TIMEOUT_MS") or "20000")
local buf = vim.api.nvim_get_current_buf()

local function keys(s) return vim.api.nvim_replace_termcodes(s, true, false, true) end

-- The steps run in a coroutine that yields to Neovim's main loop while it waits, so the keys it feeds are
-- typed (mappings, autocommands, timers and LSP replies all run as they do for a person).
local co
local function wait(timeout, cond, interval)
  local deadline = vim.loop.hrtime() + timeout * 1e6
  while not cond() do
    if vim.loop.hrtime() > deadline then return false end
    vim.defer_fn(function()
      local ok, err = coroutine.resume(co)
      if not ok then error(err) end
    end, interval or 20)
    coroutine.yield()
  end
  return true
end
local function feed(s, mode, until_mode)
  vim.api.nvim_feedkeys(keys(s), mode, false)
  wait(TIMEOUT, function() return until_mode == nil or vim.api.nvim_get_mode().mode == until_mode end)
end
local function line(n) return vim.api.nvim_buf_get_lines(buf, n, n + 1, false)[1] end
local function haiku_clients(b)
  local found = {}
  local list = vim.lsp.get_clients and vim.lsp.get_clients({ bufnr = b }) or vim.lsp.buf_get_clients(b)
  for _, c in pairs(list) do
    if c.name == "haiku" then table.insert(found, c.id) end
  end
  return found
end
local function floats()
  local texts = {}
  for _, w in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(w).relative ~= "" then
      table.insert(texts, table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(w), 0, -1, false), "\n"))
      vim.api.nvim_win_close(w, true)
    end
  end
  return texts
end

local actions = {}

function actions.attach()
  local ok = wait(TIMEOUT, function() return #haiku_clients(buf) > 0 end, 50)
  -- A second Python buffer must share the one server.
  vim.cmd("edit " .. vim.fn.fnameescape(os.getenv("HAIKU_SECOND")))
  local second = vim.api.nvim_get_current_buf()
  wait(TIMEOUT, function() return #haiku_clients(second) > 0 end, 50)
  local all = {}
  for _, c in pairs(vim.lsp.get_clients and vim.lsp.get_clients() or vim.lsp.get_active_clients()) do
    if c.name == "haiku" then table.insert(all, c.id) end
  end
  vim.cmd("buffer " .. buf)
  return { attached = ok, first = haiku_clients(buf), second = haiku_clients(second), all = all }
end

function actions.diagnostics()
  wait(TIMEOUT, function() return #vim.diagnostic.get(buf) > 0 end, 50)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(found, { lnum = d.lnum, code = d.code, source = d.source, message = d.message })
  end
  return found
end

function actions.hover()
  vim.api.nvim_win_set_cursor(0, { cursor.hover[1] + 1, cursor.hover[2] })
  feed("K", "m")
  local shown = {}
  wait(TIMEOUT, function()
    shown = floats()
    return #shown > 0
  end, 50)
  return shown
end

local function insert_at_end_of(n)
  vim.api.nvim_win_set_cursor(0, { n + 1, 0 })
  feed("A", "n", "i")
end

function actions.ghost()  -- 0.12: ghost text appears while typing, <Tab> (the README's mapping) accepts it
  local ns = vim.api.nvim_get_namespaces()["nvim.lsp.inline_completion"]
  insert_at_end_of(cursor.inline[1])
  local ghost
  wait(TIMEOUT, function()
    for _, m in ipairs(ns and vim.api.nvim_buf_get_extmarks(buf, ns, 0, -1, { details = true }) or {}) do
      local parts = {}
      for _, chunk in ipairs(m[4].virt_text or {}) do table.insert(parts, chunk[1]) end
      if #parts > 0 then ghost = table.concat(parts) end
    end
    return ghost ~= nil
  end, 20)
  local before = line(cursor.inline[1])
  feed("<Tab>", "m")
  wait(TIMEOUT, function() return line(cursor.inline[1]) ~= before end, 20)
  local after = line(cursor.inline[1])
  feed("<Esc>", "n", "n")
  return { ghost = ghost, before = before, after = after }
end

function actions.invoke()  -- 0.11: the README's <C-l> asks for a suggestion and inserts it
  insert_at_end_of(cursor.inline[1])
  local before = line(cursor.inline[1])
  feed("<C-l>", "m")
  wait(TIMEOUT, function() return line(cursor.inline[1]) ~= before end, 20)
  local after = line(cursor.inline[1])
  feed("<Esc>", "n", "n")
  return { before = before, after = after }
end

function actions.status()  -- the README's status line, fed by haiku/status
  -- once today's cost is there (the steps before made model calls)
  local function shown(g) return g ~= nil and g:find("ready", 1, true) and not g:find("$0.0000", 1, true) end
  wait(TIMEOUT, function() return shown(vim.g.haiku_status) end, 50)
  return { g = vim.g.haiku_status, line = vim.api.nvim_eval_statusline(vim.o.statusline, {}).str }
end

function actions.fix()  -- code actions on the diagnostic's line; "Fix with Haiku" picked as a user would
  local titles, picked = {}, nil
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      table.insert(titles, title)
      if not picked and title:find("Fix with Haiku", 1, true) then picked = i end
    end
    on_choice(picked and items[picked] or nil, picked)
  end
  vim.api.nvim_win_set_cursor(0, { cursor.fix[1] + 1, cursor.fix[2] })
  local before = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  vim.lsp.buf.code_action()
  wait(TIMEOUT, function() return #titles > 0 end, 20)
  wait(TIMEOUT, function()
    return table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") ~= before
  end, 50)
  return { titles = titles, text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") }
end

local function main()
  for _, name in ipairs(steps) do
    if name ~= "" then
      local ok, result = pcall(actions[name])
      out.steps[name] = ok and result or vim.NIL
      if not ok then table.insert(out.errors, name .. ": " .. tostring(result)) end
    end
  end
  out.messages = vim.fn.execute("messages")
  for _, id in ipairs(haiku_clients(buf)) do vim.lsp.stop_client(id) end
  wait(5000, function() return #haiku_clients(buf) == 0 end, 50)
  local f = assert(io.open(os.getenv("HAIKU_OUT"), "w"))
  f:write(vim.fn.json_encode(out))
  f:close()
  vim.cmd("qa!")
end

co = coroutine.create(main)
local ok, err = coroutine.resume(co)
if not ok then error(err) end
