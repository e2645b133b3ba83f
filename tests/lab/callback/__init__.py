# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible callback plugins of the lab (loaded through ANSIBLE_CALLBACK_PLUGINS, not as a collection plugin)."""
