-- End-to-end test of editors/neovim/lsp/alembic_lsp.lua against the real server, in
-- headless Neovim. Run by run.sh: nvim --headless -u init.lua -l test.lua
-- Any failed assertion exits non-zero.
local project = assert(os.getenv('ALEMBIC_E2E_PROJECT'), 'ALEMBIC_E2E_PROJECT is not set')
local versions = project .. '/migrations/versions'
local TIMEOUT = 20000

local function log(fmt, ...)
  io.stdout:write(string.format(fmt, ...) .. '\n')
end

local function describe(bufnr)
  local lines = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    lines[#lines + 1] = string.format('  %d:%d %s %s', d.lnum + 1, d.col + 1, d.code, d.message)
  end
  return table.concat(lines, '\n')
end

local function codes(bufnr, code)
  return vim.tbl_filter(function(d)
    return d.code == code and d.source == 'alembic-lsp'
  end, vim.diagnostic.get(bufnr))
end

local function wait_for(what, fn, bufnr)
  if not vim.wait(TIMEOUT, fn, 50) then
    error(string.format('timed out waiting for %s; diagnostics now:\n%s', what, describe(bufnr)), 0)
  end
  log('ok: %s', what)
end

local function line_of(bufnr, pattern)
  for i, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    if line:find(pattern, 1, true) then
      return i - 1
    end
  end
  error('no line containing ' .. pattern)
end

local function client_of(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = 'alembic_lsp' })[1]
end

local function open(path)
  vim.cmd.edit(vim.fn.fnameescape(path))
  return vim.api.nvim_get_current_buf()
end

-- 1. The config attaches only inside an Alembic project.
local config = vim.lsp.config.alembic_lsp
assert(config.cmd[1] == 'alembic-lsp', 'unexpected cmd')
local outside = vim.fn.tempname()
vim.fn.mkdir(outside .. '/tool-alembic', 'p')
vim.fn.mkdir(outside .. '/tool-other', 'p')
vim.fn.writefile({ '[tool.alembic]', 'script_location = "migrations"' }, outside .. '/tool-alembic/pyproject.toml')
vim.fn.writefile({ '[tool.alembic-lsp]', 'max-heads = 1' }, outside .. '/tool-other/pyproject.toml')
local function root_of(path)
  local found
  local buf = vim.fn.bufadd(path)
  config.root_dir(buf, function(dir)
    found = dir
  end)
  return found
end
assert(root_of(outside .. '/tool-alembic/m.py') == outside .. '/tool-alembic', '[tool.alembic] is a root')
assert(root_of(outside .. '/tool-other/m.py') == nil, '[tool.alembic-lsp] alone is not a root')
assert(root_of(versions .. '/x.py') == project, 'alembic.ini is a root')

local plain = open(outside .. '/tool-other/plain.py')
vim.wait(500)
assert(client_of(plain) == nil, 'attached to a Python file outside an Alembic project')
log('ok: no client outside an Alembic project')

-- 2. MG101 on an unapproved drop_table, cleared by the approval quick fix.
local drop = open(versions .. '/2b3c4d5e6f70_drop_legacy_sessions.py')
wait_for('client attached', function()
  return client_of(drop) ~= nil
end, drop)
assert(client_of(drop).root_dir == project, 'root_dir is ' .. tostring(client_of(drop).root_dir))
wait_for('MG101 on drop_table', function()
  return #codes(drop, 'MG101') == 1
end, drop)
local statement = line_of(drop, 'op.drop_table("legacy_sessions")')
assert(codes(drop, 'MG101')[1].lnum == statement, 'MG101 is not on the drop_table line')
assert(#codes(drop, 'MG201') == 0, 'a single head must not get MG201:\n' .. describe(drop))

vim.api.nvim_win_set_cursor(0, { statement + 1, 4 })
vim.lsp.buf.code_action({
  filter = function(action)
    return action.title:find('# destructive: approved', 1, true) ~= nil
  end,
  apply = true,
})
wait_for('approval inserted', function()
  return vim.api.nvim_buf_get_lines(drop, statement, statement + 1, false)[1] == '    # destructive: approved'
end, drop)
assert(vim.api.nvim_buf_get_lines(drop, statement + 1, statement + 2, false)[1]:find('op.drop_table', 1, true))
wait_for('MG101 cleared', function()
  return #codes(drop, 'MG101') == 0
end, drop)
vim.cmd("silent write")

-- 3. A second head: MG201 on the `revision` line of both heads.
local second_path = versions .. '/3c4d5e6f7081_add_user_email.py'
vim.fn.writefile({
  '"""add user email',
  '',
  'Revision ID: 3c4d5e6f7081',
  'Revises: 1a2b3c4d5e6f',
  'Create Date: 2025-02-04 10:00:00.000000',
  '',
  '"""',
  'from alembic import op',
  'import sqlalchemy as sa',
  '',
  'revision = "3c4d5e6f7081"',
  'down_revision = "1a2b3c4d5e6f"',
  'branch_labels = None',
  'depends_on = None',
  '',
  '',
  'def upgrade() -> None:',
  '    op.add_column("users", sa.Column("email", sa.String(255), nullable=True))',
  '',
  '',
  'def downgrade() -> None:',
  '    op.drop_column("users", "email")',
}, second_path)
local second = open(second_path)
wait_for('MG201 on both heads', function()
  return #codes(second, 'MG201') == 1 and #codes(drop, 'MG201') == 1
end, second)
assert(codes(second, 'MG201')[1].lnum == line_of(second, 'revision = "3c4d5e6f7081"'))
assert(codes(drop, 'MG201')[1].lnum == line_of(drop, 'revision = "2b3c4d5e6f70"'))

-- 4. Re-pointing the new revision onto the other head clears MG201 in both files.
local down = line_of(second, 'down_revision = ')
vim.api.nvim_buf_set_text(second, down, #'down_revision = "', down, #'down_revision = "1a2b3c4d5e6f', { '2b3c4d5e6f70' })
wait_for('MG201 cleared in both files', function()
  return #codes(second, 'MG201') == 0 and #codes(drop, 'MG201') == 0
end, second)

log('PASS: neovim end-to-end')
