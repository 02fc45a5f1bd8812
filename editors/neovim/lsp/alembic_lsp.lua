-- alembic-lsp: diagnostics, approval quick fixes and navigation for Alembic migrations.
--
-- Neovim 0.11+: put this directory's parent on 'runtimepath' (or copy this file to
-- ~/.config/nvim/lsp/alembic_lsp.lua) and call `vim.lsp.enable('alembic_lsp')`.
-- The server attaches to Python buffers only inside an Alembic project: a directory
-- with `alembic.ini`, or a `pyproject.toml` with a `[tool.alembic]` table.

--- True when the pyproject.toml at `path` configures Alembic (1.16+).
---@param path string
---@return boolean
local function has_tool_alembic(path)
  local file = io.open(path, 'r')
  if not file then
    return false
  end
  for line in file:lines() do
    -- `[tool.alembic]` or a sub-table of it, but not `[tool.alembic-lsp]`.
    if line:match('^%s*%[%[?%s*tool%.alembic%s*[%]%.]') then
      file:close()
      return true
    end
  end
  file:close()
  return false
end

--- The nearest directory above `bufnr` that holds an Alembic configuration, if any.
---@param bufnr integer
---@return string?
local function alembic_root(bufnr)
  return vim.fs.root(bufnr, function(name, path)
    if name == 'alembic.ini' then
      return true
    end
    return name == 'pyproject.toml' and has_tool_alembic(vim.fs.joinpath(path, name))
  end)
end

---@type vim.lsp.Config
return {
  cmd = { 'alembic-lsp' },
  filetypes = { 'python' },
  root_markers = { 'alembic.ini', 'pyproject.toml' },
  -- `root_dir` takes precedence over `root_markers` (which stay for tools that read
  -- them): not calling `on_dir` keeps the server off Python files outside a project.
  root_dir = function(bufnr, on_dir)
    local root = alembic_root(bufnr)
    if root then
      on_dir(root)
    end
  end,
}
